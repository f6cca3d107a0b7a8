/**
 * The real platform in-process with the registry and broker parts on 127.0.0.1:0, a
 * throwaway data dir, an adjustable clock (to issue certificates in the past) and the log
 * captured as data. Everything it opens is closed by close().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createRegistryPart } from '@outpost/device-registry';
import { loadConfig, Platform } from '@outpost/e2e';
import type { MqttListenerPort, PartDeps, PartFactory, RegistryPort } from '@outpost/kernel';
import type { RegistryEvent } from '@outpost/protocol';
import { pino } from 'pino';
import { merge, type Observable } from 'rxjs';
import { createBrokerPart, type BrokerPart, type BrokerPartOptions } from '../../src/index.js';
import { ADMIN_PASSWORD, platformClient, type PlatformClient } from './platform-client.js';

export { ADMIN_PASSWORD, type DeviceCredentials } from './platform-client.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface BrokerPlatform extends PlatformClient {
  readonly platform: Platform;
  readonly broker: BrokerPart;
  readonly mqttUrl: string;
  readonly operatorUrl: string;
  readonly dataDir: string;
  readonly logs: LogLine[];
  /** Milliseconds added to the platform clock (negative: the past). */
  clockOffsetMs: number;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** The environment of a test platform in `dir` (everything on 127.0.0.1, ephemeral ports). */
export function testEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OUTPOST_DATA_DIR: join(dir, 'data'),
    OUTPOST_SECRET_KEY_FILE: join(dir, 'secret.key'),
    OUTPOST_HTTP_HOST: '127.0.0.1',
    OUTPOST_HTTP_PORT: '0',
    OUTPOST_DEVICE_HOST: '127.0.0.1',
    OUTPOST_DEVICE_PORT: '0',
    OUTPOST_MQTT_HOST: '127.0.0.1',
    OUTPOST_MQTT_PORT: '0',
    OUTPOST_PUBLIC_HOST: '127.0.0.1',
    OUTPOST_ADMIN_PASSWORD: ADMIN_PASSWORD,
    OUTPOST_LOG_LEVEL: 'info',
    ...extra,
  };
}

export interface BrokerPlatformOptions {
  readonly env?: Record<string, string>;
  readonly broker?: BrokerPartOptions;
  /** Events added to the real registry's stream (events the registry does not emit yet). */
  readonly registryEvents?: Observable<RegistryEvent>;
  /** Provided as `ports.mqttListener` to the broker, as the registry would. */
  readonly mqttListener?: MqttListenerPort;
}

/** The registry part, its event stream merged with `extra` when given. */
function registryPart(extra: Observable<RegistryEvent> | undefined): PartFactory {
  if (extra === undefined) return createRegistryPart();
  return async (deps) => {
    const part = await createRegistryPart()(deps);
    const port = part.provides?.['registry'] as RegistryPort;
    // The registry part is a plain object of closures: a copy with another `provides` is the same part.
    return { ...part, provides: { ...part.provides, registry: { ...port, events: merge(port.events, extra) } } };
  };
}

export async function startBrokerPlatform(options: BrokerPlatformOptions = {}): Promise<BrokerPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'outpost-broker-'));
  const loaded = loadConfig({ env: testEnv(dataDir, options.env), cwd: dataDir });
  if (!loaded.ok) throw new Error(`test config invalid: ${loaded.errors.join('; ')}`);
  const logs: LogLine[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
  });
  let broker: BrokerPart | undefined;
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart(options.broker)(deps));
  const state = { clockOffsetMs: 0 };
  const platform = await Platform.create({
    config: loaded.config,
    log: pino({ level: 'debug' }, logStream),
    secretKey: Buffer.alloc(32, 7),
    parts: [registryPart(options.registryEvents), ...(options.mqttListener === undefined ? [] : [listenerPart(options.mqttListener)]), brokerFactory],
    version: '0.0.0-test',
    stdout: new PassThrough(),
    clock: { now: () => Date.now() + state.clockOffsetMs },
  });
  let operatorUrl: string;
  try {
    operatorUrl = (await platform.start()).operatorUrl;
  } catch (err) {
    await platform.close(5_000);
    throw err;
  }
  const started = broker;
  const mqttUrl = started?.mqttUrl();
  if (started === undefined || mqttUrl === undefined) throw new Error('the broker part did not start');
  const client = await platformClient(operatorUrl, () => platform.deviceUrl());

  return {
    ...client,
    platform,
    broker: started,
    mqttUrl,
    operatorUrl,
    dataDir,
    logs,
    get clockOffsetMs() {
      return state.clockOffsetMs;
    },
    set clockOffsetMs(value: number) {
      state.clockOffsetMs = value;
    },
    async metric(name, labels = {}) {
      const found = await platform.registry.getSingleMetric(name)?.get();
      if (found === undefined) throw new Error(`no metric ${name}`);
      return found.values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await platform.close(5_000);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A part that only provides `mqttListener` (as the registry will). */
function listenerPart(port: MqttListenerPort): PartFactory {
  return () => ({ name: 'mqtt-listener-test', start: async () => undefined, ready: () => 'ok', close: async () => undefined, provides: { mqttListener: port } });
}
