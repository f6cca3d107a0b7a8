/**
 * QoS 1 msg/s of one broker node with aedes' in-memory emitter vs the same node in cluster
 * mode (OUTPOST_REDIS_URL: mqemitter-redis, aedes-persistence-redis, the epoch check before
 * every device publish, live events on the bus), same load, same run, one real Redis
 * (issue 15, brief C). In-process (registry + [cluster +] broker on the embedded database);
 * the clients share the process and the CPU. Not a vitest suite: run it by hand.
 *
 *   npx tsc -b && node broker/dist/test/cluster/emitter-throughput.bench.js [publishers=10] [messages=1000] [window=16] [rounds=2]
 */
import type { MqttClient } from 'mqtt';
import { createRegistryPart } from '@outpost/device-registry';
import { platformClient, startPlatform, startRedis, type DeviceCredentials, type RedisHandle } from '@outpost/e2e';
import type { PartDeps, PartFactory } from '@outpost/kernel';
import { topics } from '@outpost/protocol';
import { createBrokerPart, createClusterPart, type BrokerPart } from '../../src/index.js';
import { connectDevice } from '../helpers/mqtt-client.js';
import { telemetryBatch } from '../helpers/payloads.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const publishers = Number(args['publishers'] ?? 10);
const messages = Number(args['messages'] ?? 1000);
const window = Number(args['window'] ?? 16);
const rounds = Number(args['rounds'] ?? 2);

async function publishAll(client: MqttClient, deviceId: string): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < messages) {
      next += 1;
      await client.publishAsync(topics.telemetry(deviceId), JSON.stringify(telemetryBatch(next)), { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: window }, one));
}

async function measure(mode: 'memory' | 'redis', redis: RedisHandle): Promise<number> {
  let broker: BrokerPart | undefined;
  const brokerFactory: PartFactory = (deps: PartDeps) => (broker = createBrokerPart()(deps));
  const t = await startPlatform({
    parts: mode === 'redis' ? [createRegistryPart(), createClusterPart({ keyPrefix: `bench-${Date.now()}:` }), brokerFactory] : [createRegistryPart(), brokerFactory],
    env: { OUTPOST_LIMIT_MSGS_PER_S: '1000000', OUTPOST_LIMIT_BYTES_PER_S: '1073741824', ...(mode === 'redis' ? { OUTPOST_REDIS_URL: redis.url } : {}) },
    logLevel: 'warn',
  });
  try {
    const url = broker?.mqttUrl();
    if (url === undefined) throw new Error('broker not started');
    const api = await platformClient(t.operatorUrl, () => t.platform.deviceUrl());
    const devices: DeviceCredentials[] = [];
    for (let i = 0; i < publishers; i += 1) devices.push(await api.enroll(`bench-${mode}-${i}`));
    const clients = await Promise.all(devices.map((d) => connectDevice(url, d)));
    const started = performance.now();
    await Promise.all(clients.map((c, i) => publishAll(c, devices[i]?.deviceId ?? '')));
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(clients.map((c) => c.endAsync()));
    return (publishers * messages) / seconds;
  } finally {
    await t.close();
  }
}

const redis = await startRedis();
try {
  const results: Record<string, number[]> = { memory: [], redis: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const mode of ['memory', 'redis'] as const) results[mode]?.push(await measure(mode, redis));
  }
  console.log(`QoS 1 TelemetryBatch publishes, ${publishers} devices × ${messages} messages, ${window} in flight each, ${rounds} alternating rounds:`);
  for (const [mode, figures] of Object.entries(results)) console.log(`  ${mode === 'memory' ? 'one node, in-memory emitter ' : 'cluster mode, Redis emitter  '} ${figures.map((f) => `${Math.round(f)} msg/s`).join(', ')}`);
} finally {
  await redis.stop();
}
