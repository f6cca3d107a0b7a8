/**
 * The real platform in-process — registry, broker (spool consumers ingest + alerts) and the
 * alerts part as `outpost server` composes them — on 127.0.0.1:0 with a throwaway data dir (or
 * a given one, for restarts), through the test package's one harness (`startPlatform`). The
 * alerts part sees the broker's ports, except `maintenance` (tests mark devices as updating)
 * and `mqttPublisher` (what it publishes to `integrations/alerts` is recorded here). Devices
 * enroll through the API and publish over mTLS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlertsPart, type AlertsOptions, type AlertsPart } from '@outpost/alerts';
import { createBrokerPart, type BrokerPart } from '@outpost/broker';
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform, type Platform } from '@outpost/e2e';
import { requirePort, type PartDeps, type PartFactory, type RegistryPort } from '@outpost/kernel';
import type { AlertEvent } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';
import { platformClient, type PlatformClient } from '@outpost/e2e';

export interface MqttPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export interface AlertsPlatform extends PlatformClient {
  readonly platform: Platform;
  readonly broker: BrokerPart;
  readonly alerts: AlertsPart;
  /** The registry port the alerts part was given. */
  readonly registry: RegistryPort;
  readonly mqttUrl: string;
  readonly operatorUrl: string;
  readonly dataDir: string;
  /** Every stored AlertEvent, in order. */
  readonly events: AlertEvent[];
  /** What the alerts part published through its `mqttPublisher` port (integrations/alerts). */
  readonly mqttPublished: MqttPublish[];
  /** Devices the maintenance port reports as updating. */
  readonly updating: Set<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Stops the platform; the data dir stays when `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface AlertsPlatformOptions {
  readonly alerts?: AlertsOptions;
  /** The store backtests read (default: the platform's own). */
  readonly telemetry?: TelemetryStore;
  readonly dataDir?: string;
  /** Makes publishing to MQTT fail (an MQTT channel whose broker is down). */
  readonly mqttDown?: () => boolean;
}

export async function startAlertsPlatform(options: AlertsPlatformOptions = {}): Promise<AlertsPlatform> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'outpost-alerts-')));
  let broker: BrokerPart | undefined;
  let alerts: AlertsPart | undefined;
  let registry: RegistryPort | undefined;
  const events: AlertEvent[] = [];
  const mqttPublished: MqttPublish[] = [];
  const updating = new Set<string>();
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart({ spoolConsumers: ['ingest', 'alerts'] })(deps));
  const alertsFactory: PartFactory = (deps: PartDeps) => {
    registry = requirePort(deps.ports, 'registry', 'alerts test');
    const part = createAlertsPart({
      retryBaseMs: 20,
      retryMaxMs: 200,
      latenessMs: 60_000,
      // The receivers of these tests listen on 127.0.0.1: loopback webhooks must be allowed (D8).
      webhookAllowPrivate: true,
      ...options.alerts,
    })({
      ...deps,
      telemetry: options.telemetry ?? deps.telemetry,
      ports: {
        ...deps.ports,
        maintenance: { isUpdating: (id) => updating.has(id) || deps.ports.maintenance.isUpdating(id) },
        mqttPublisher: {
          publish: async (message) => {
            if (options.mqttDown?.() === true) throw new Error('the MQTT broker is not running');
            mqttPublished.push({ ...message, payload: Buffer.from(message.payload) });
          },
        },
      },
    });
    part.onEvent((event) => events.push(event));
    alerts = part;
    return part;
  };
  const started = await startPlatform({ parts: [createRegistryPart(), brokerFactory, alertsFactory], dataDir });
  const mqttUrl = broker?.mqttUrl();
  if (broker === undefined || alerts === undefined || registry === undefined || mqttUrl === undefined) {
    await started.close();
    throw new Error('the broker or the alerts part did not start');
  }
  const { platform, operatorUrl } = started;
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
      await started.close();
      if (closeOptions.keepData !== true && options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A rule body with the defaults tests share; override what a test is about. */
export function ruleBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'freezer too warm', kind: 'threshold', metric: 'temperature', condition: '>', threshold: -15, severity: 'critical', forMs: 0, cooldownMs: 0, ...overrides };
}
