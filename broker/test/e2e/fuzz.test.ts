import { topics, type PublishError } from '@outpost/protocol';
import type { SpoolEntry } from '@outpost/telemetry';
import { firstValueFrom, filter, scan } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { fuzzPayload, seededRandom } from '../helpers/fuzz.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

const CASES = 3_000;
const VALID = 200;
const SEED = 20_240_404;

describe('broker: randomized telemetry payloads', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    env = await startBrokerPlatform({ env: { OUTPOST_LIMIT_MSGS_PER_S: '1000000', OUTPOST_LIMIT_BYTES_PER_S: '1 GiB', OUTPOST_LOG_LEVEL: 'error' }, broker: { spoolConsumers: ['ingest', 'alerts', 'test'] } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it(`stays up; each of ${CASES} fuzz batches is stored or explained; another device is unaffected`, async () => {
    const fuzzer = await env.enroll('fuzz-device');
    const bystander = await env.enroll('fuzz-bystander');
    const fuzz = await connectDevice(env.mqttUrl, fuzzer);
    const errors: PublishError[] = [];
    fuzz.on('message', (_topic, payload) => errors.push(JSON.parse(payload.toString('utf8')) as PublishError));
    await fuzz.subscribeAsync(topics.errors(fuzzer.deviceId), { qos: 0 });
    const other = await connectDevice(env.mqttUrl, bystander);

    const random = seededRandom(SEED);
    const now = Date.now();
    const fuzzing = Promise.all(Array.from({ length: CASES }, (_, i) => fuzz.publishAsync(topics.telemetry(fuzzer.deviceId), fuzzPayload(random, i + 1, now), { qos: 1 })));
    const valid = Promise.all(Array.from({ length: VALID }, (_, i) => other.publishAsync(topics.telemetry(bystander.deviceId), JSON.stringify(telemetryBatch(i + 1, { bystander_temperature: 21.5 })), { qos: 1 })));
    await Promise.all([fuzzing, valid]);
    expect(fuzz.connected).toBe(true);
    expect(other.connected).toBe(true);

    const total = env.broker.provides.ingestSpool.stats().lastSeq;
    const entries = await firstValueFrom(
      env.broker.provides.ingestSpool.read('test').pipe(
        scan((all, entry) => [...all, entry], [] as SpoolEntry[]),
        filter((all) => all.length === total),
      ),
    );
    const storedFuzz = entries.filter((e) => e.deviceId === fuzzer.deviceId).length;
    const storedValid = entries.filter((e) => e.deviceId === bystander.deviceId).length;
    expect(storedValid).toBe(VALID);
    await waitFor(() => errors.length === CASES - storedFuzz, { timeoutMs: 10_000, what: `${CASES - storedFuzz} PublishErrors (got ${errors.length})` });
    const byCode = new Map<string, number>();
    for (const e of errors) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
    console.log(`fuzz: ${CASES} cases, ${storedFuzz} stored, ${errors.length} explained: ${JSON.stringify(Object.fromEntries(byCode))}`);
    expect(storedFuzz).toBeGreaterThan(0);

    const again = await connectDevice(env.mqttUrl, bystander);
    expect(again.connected).toBe(true);
    await Promise.all([fuzz.endAsync(), other.endAsync(true), again.endAsync()]);
  });
});
