/**
 * The platform the OTA suites run: registry + broker + ota (the real parts, in-process, on
 * ephemeral ports) with an admin API client, device enrollment and the MQTT URL. Download
 * jobs come from real rollouts (`POST /api/v1/rollouts`).
 */
import { createBrokerPart, type BrokerPart } from '@outpost/broker';
import { createRegistryPart } from '@outpost/device-registry';
import { platformClient, startPlatform, type PlatformClient, type StartPlatformOptions, type TestPlatform } from '@outpost/e2e';
import type { PartDeps, PartFactory } from '@outpost/kernel';
import { createOtaPart, type OtaOptions, type OtaPart } from '@outpost/ota';

export interface OtaPlatform extends PlatformClient {
  readonly t: TestPlatform;
  readonly ota: OtaPart;
  readonly mqttUrl: string;
  readonly operatorUrl: string;
  readonly dataDir: string;
  /** The device listener's base URL. */
  deviceUrl(): string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startOtaPlatform(options: { ota?: OtaOptions; env?: Record<string, string>; dataDir?: string } = {}): Promise<OtaPlatform> {
  let broker: BrokerPart | undefined;
  let ota: OtaPart | undefined;
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart()(deps));
  const otaFactory: PartFactory = async (deps: PartDeps) => {
    ota = await createOtaPart(options.ota ?? {})(deps);
    return ota;
  };
  const start: StartPlatformOptions = {
    parts: [createRegistryPart(), brokerFactory, otaFactory],
    dirPrefix: 'outpost-ota-',
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  };
  const t = await startPlatform(start);
  const mqttUrl = broker?.mqttUrl();
  if (ota === undefined || mqttUrl === undefined) {
    await t.close();
    throw new Error('the broker or the ota part did not start');
  }
  const client = await platformClient(t.operatorUrl, () => t.platform.deviceUrl());
  return {
    ...client,
    t,
    ota,
    mqttUrl,
    operatorUrl: t.operatorUrl,
    dataDir: t.dataDir,
    deviceUrl: () => {
      const url = t.platform.deviceUrl();
      if (url === undefined) throw new Error('the device listener is not bound');
      return url;
    },
    async metric(name, labels = {}) {
      const found = await t.platform.registry.getSingleMetric(name)?.get();
      if (found === undefined) throw new Error(`no metric ${name}`);
      return found.values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    close: () => t.close(),
  };
}
