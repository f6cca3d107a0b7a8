/**
 * The real platform in-process with the registry and broker parts on 127.0.0.1:0, a
 * throwaway data dir, an adjustable clock (to issue certificates in the past) and the log
 * captured as data. Everything it opens is closed by close().
 */
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform, testPlatformEnv, type LogLine, type Platform } from '@outpost/e2e';
import type { MqttListenerPort, PartDeps, PartFactory, RegistryPort } from '@outpost/kernel';
import type { RegistryEvent } from '@outpost/protocol';
import { merge, type Observable } from 'rxjs';
import { createBrokerPart, type BrokerPart, type BrokerPartOptions } from '../../src/index.js';
import { platformClient, TEST_ADMIN_PASSWORD as ADMIN_PASSWORD, type PlatformClient } from '@outpost/e2e';

export { TEST_ADMIN_PASSWORD as ADMIN_PASSWORD, type DeviceCredentials } from '@outpost/e2e';

export type { LogLine } from '@outpost/e2e';

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
  return testPlatformEnv(dir, extra, ADMIN_PASSWORD);
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
  let broker: BrokerPart | undefined;
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart(options.broker)(deps));
  const state = { clockOffsetMs: 0 };
  const harness = await startPlatform({
    parts: [registryPart(options.registryEvents), ...(options.mqttListener === undefined ? [] : [listenerPart(options.mqttListener)]), brokerFactory],
    clock: { now: () => Date.now() + state.clockOffsetMs },
    dirPrefix: 'outpost-broker-',
    logLevel: 'debug',
    adminPassword: ADMIN_PASSWORD,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const { platform, operatorUrl, dataDir, logs } = harness;
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
    close: harness.close,
  };
}

/** A part that only provides `mqttListener` (as the registry will). */
function listenerPart(port: MqttListenerPort): PartFactory {
  return () => ({ name: 'mqtt-listener-test', start: async () => undefined, ready: () => 'ok', close: async () => undefined, provides: { mqttListener: port } });
}
