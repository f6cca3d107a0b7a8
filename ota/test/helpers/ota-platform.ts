/**
 * The platform the OTA suites run: registry + broker + ota (the real parts, in-process, on
 * ephemeral ports) with an admin API client, device enrollment and the MQTT URL. The
 * rollouts module is the real one, wrapped so a suite can grant a device a download job
 * (`grantJob`) until the rollout API issues jobs itself.
 */
import { createBrokerPart, type BrokerPart } from '@outpost/broker';
import { createRegistryPart } from '@outpost/device-registry';
import { platformClient, startPlatform, type PlatformClient, type StartPlatformOptions, type TestPlatform } from '@outpost/e2e';
import type { PartDeps, PartFactory } from '@outpost/kernel';
import { createOtaPart, createRolloutModule, type OtaOptions, type OtaPart } from '@outpost/ota';

export interface OtaPlatform extends PlatformClient {
  readonly t: TestPlatform;
  readonly ota: OtaPart;
  readonly mqttUrl: string;
  readonly operatorUrl: string;
  readonly dataDir: string;
  /** The device listener's base URL. */
  deviceUrl(): string;
  grantJob(deviceId: string, artifactId: string): void;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startOtaPlatform(options: { ota?: OtaOptions; env?: Record<string, string>; dataDir?: string } = {}): Promise<OtaPlatform> {
  let broker: BrokerPart | undefined;
  let ota: OtaPart | undefined;
  const jobs = new Set<string>();
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart()(deps));
  const otaFactory: PartFactory = async (deps: PartDeps) => {
    ota = await createOtaPart(options.ota ?? {}, {
      createRollouts: async (input) => {
        const real = await createRolloutModule(input);
        return {
          routes: (listeners) => real.routes(listeners),
          start: () => real.start(),
          close: () => real.close(),
          maintenance: real.maintenance,
          hasJobFor: async (deviceId, artifactId) => jobs.has(`${deviceId}/${artifactId}`) || (await real.hasJobFor(deviceId, artifactId)),
          artifactInUse: (artifactId) => real.artifactInUse(artifactId),
          metrics: (registry) => real.metrics(registry),
        };
      },
    })(deps);
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
    grantJob: (deviceId, artifactId) => jobs.add(`${deviceId}/${artifactId}`),
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
