/** A device's view of its retained TrustSet over real MQTT (mTLS with its own certificate). */
import type { DeviceCredentials } from '@outpost/e2e';
import { connectDevice, waitFor } from '@outpost/e2e';
import { topics, type TrustSet } from '@outpost/protocol';

export interface TrustListener {
  readonly received: TrustSet[];
  /** Resolves with the first received set of at least `version`. */
  version(version: number): Promise<TrustSet>;
  close(): Promise<void>;
}

export async function listenTrust(url: string, device: DeviceCredentials): Promise<TrustListener> {
  const client = await connectDevice(url, device);
  const received: TrustSet[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.trust(device.deviceId)) received.push(JSON.parse(payload.toString('utf8')) as TrustSet);
  });
  await client.subscribeAsync(topics.trust(device.deviceId), { qos: 1 });
  return {
    received,
    async version(version) {
      return waitFor(() => received.find((s) => s.version >= version), { timeoutMs: 10_000, description: `trust set version ${version} on ${device.deviceId}` });
    },
    close: () => client.endAsync(),
  };
}
