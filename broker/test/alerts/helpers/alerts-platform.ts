/**
 * The real platform in-process — registry, broker (spool consumers ingest + alerts) and the
 * alerts module wired as the broker part will wire it — on 127.0.0.1:0 with a throwaway data
 * dir (or a given one, for restarts). Devices enroll through the API and publish over mTLS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createRegistryPart } from '@outpost/device-registry';
import { loadConfig, Platform } from '@outpost/e2e';
import type { Part, PartDeps, PartFactory, RegistryPort } from '@outpost/kernel';
import type { AlertEvent } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';
import { pino } from 'pino';
import { createBrokerPart, type BrokerPart } from '../../../src/index.js';
import { createAlertsModule, type AlertsModule, type AlertsOptions } from '../../../src/alerts/index.js';
import { platformClient, type PlatformClient } from '../../helpers/platform-client.js';
import { testEnv } from '../../helpers/broker-platform.js';

export interface MqttPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export interface AlertsPlatform extends PlatformClient {
  readonly platform: Platform;
  readonly broker: BrokerPart;
  readonly alerts: AlertsModule;
  /** The registry port the alerts module was given. */
  readonly registry: RegistryPort;
  readonly mqttUrl: string;
  readonly operatorUrl: string;
  readonly dataDir: string;
  /** Every stored AlertEvent, in order. */
  readonly events: AlertEvent[];
  /** What the alerts module handed to `publishMqtt` (integrations/alerts). */
  readonly mqttPublished: MqttPublish[];
  /** Devices the maintenance port reports as updating. */
  readonly updating: Set<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Stops the platform; the data dir stays when `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface AlertsPlatformOptions {
  readonly alerts?: AlertsOptions;
  readonly telemetry?: TelemetryStore;
  readonly dataDir?: string;
  /** Makes publishMqtt fail (an MQTT channel whose broker is down). */
  readonly mqttDown?: () => boolean;
}

export async function startAlertsPlatform(options: AlertsPlatformOptions = {}): Promise<AlertsPlatform> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'outpost-alerts-')));
  const loaded = loadConfig({ env: testEnv(dataDir, { OUTPOST_LOG_LEVEL: 'silent' }), cwd: dataDir });
  if (!loaded.ok) throw new Error(`test config invalid: ${loaded.errors.join('; ')}`);
  let broker: BrokerPart | undefined;
  let alerts: AlertsModule | undefined;
  let registry: RegistryPort | undefined;
  const events: AlertEvent[] = [];
  const mqttPublished: MqttPublish[] = [];
  const updating = new Set<string>();
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart({ spoolConsumers: ['ingest', 'alerts'], alerts: false })(deps));
  // What the lead's wiring in broker-part.ts does, as a part of its own.
  const alertsFactory: PartFactory = (deps: PartDeps): Part => {
    const b = broker;
    if (b === undefined) throw new Error('the broker part must come first');
    const module = createAlertsModule({
      db: deps.db,
      secretKey: deps.secretKey,
      migrate: (part, migrations) => deps.migrate(part, migrations),
      auth: deps.auth,
      audit: deps.audit,
      live: deps.live,
      log: deps.log,
      clock: deps.clock,
      registry: (registry = deps.ports['registry'] as RegistryPort),
      maintenance: { isUpdating: (id) => updating.has(id) || deps.ports.maintenance.isUpdating(id) },
      spool: b.provides.ingestSpool,
      edgeAlerts: b.provides.deviceInbox.alerts,
      telemetry: options.telemetry,
      publishMqtt: async (message) => {
        if (options.mqttDown?.() === true) throw new Error('the MQTT broker is not running');
        mqttPublished.push(message);
      },
      // The receivers of these tests listen on 127.0.0.1: loopback webhooks must be allowed (D8).
      options: { retryBaseMs: 20, retryMaxMs: 200, latenessMs: 60_000, webhookAllowPrivate: true, ...options.alerts },
    });
    module.onEvent((event) => events.push(event));
    alerts = module;
    return {
      name: 'alerts',
      routes: ({ operator }) => module.routes(operator),
      metrics: (registry) => module.metrics(registry),
      start: () => module.start(),
      ready: () => module.ready(),
      close: () => module.close(),
    };
  };
  const platform = await Platform.create({
    config: loaded.config,
    log: pino({ level: 'silent' }, new PassThrough()),
    secretKey: Buffer.alloc(32, 7),
    parts: [createRegistryPart(), brokerFactory, alertsFactory],
    version: '0.0.0-test',
    stdout: new PassThrough(),
  });
  let operatorUrl: string;
  try {
    operatorUrl = (await platform.start()).operatorUrl;
  } catch (err) {
    await platform.close(5_000);
    throw err;
  }
  const mqttUrl = broker?.mqttUrl();
  if (broker === undefined || alerts === undefined || registry === undefined || mqttUrl === undefined) throw new Error('the broker did not start');
  const client = await platformClient(operatorUrl, () => platform.deviceUrl());
  return {
    ...client,
    platform,
    broker,
    alerts,
    registry,
    mqttUrl,
    operatorUrl,
    dataDir,
    events,
    mqttPublished,
    updating,
    async metric(name, labels = {}) {
      const found = await platform.registry.getSingleMetric(name)?.get();
      if (found === undefined) throw new Error(`no metric ${name}`);
      return found.values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close(closeOptions = {}) {
      await platform.close(5_000);
      if (closeOptions.keepData !== true && options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A rule body with the defaults tests share; override what a test is about. */
export function ruleBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'freezer too warm', kind: 'threshold', metric: 'temperature', condition: '>', threshold: -15, severity: 'critical', forMs: 0, cooldownMs: 0, ...overrides };
}
