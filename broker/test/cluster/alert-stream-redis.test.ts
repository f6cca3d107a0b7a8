/**
 * The alert streams on a real Redis (issue 15 item 5, ADR 0013): each device always lands in the
 * same partition; a new owner (another connection, as another node) finds what the previous one
 * read but did not acknowledge; acknowledged entries stay readable for the warm-up replay; a
 * stream lost with Redis' data (FLUSHALL) gets its group back.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisHandle } from '@outpost/e2e';
import type { TelemetryBatch } from '@outpost/protocol';
import { connectAlertStreamRedis, partitionOfDevice, type AlertStreamRedis } from '../../src/cluster/alert-stream-redis.js';

const PARTITIONS = 4;
const batch = (n: number): TelemetryBatch => ({ v: 1, seq: n, samples: [{ ts: 1_000 + n, metrics: { temp: n } }] });

describe('alert streams on Redis (ADR 0013)', () => {
  let redis: RedisHandle;
  const open: AlertStreamRedis[] = [];
  const node = async (name: string, keyPrefix: string): Promise<AlertStreamRedis> => {
    const streams = await connectAlertStreamRedis({ url: redis.url, log: pino({ level: 'silent' }), nodeId: name, keyPrefix, partitions: PARTITIONS, maxLen: 1_000, commandTimeoutMs: 2_000 });
    open.push(streams);
    return streams;
  };

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    for (const streams of open) await streams.close();
    await redis?.stop();
  });

  it('puts a device in the same partition on every node, and spreads devices over all of them', () => {
    const ids = Array.from({ length: 400 }, (_, i) => `dev-${i}`);
    const counts = new Array<number>(PARTITIONS).fill(0);
    for (const id of ids) {
      const p = partitionOfDevice(id, PARTITIONS);
      expect(partitionOfDevice(id, PARTITIONS)).toBe(p);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(400 / PARTITIONS / 2);
    // Fixed values: a change of the hash would move every device's rule state at an upgrade.
    expect([partitionOfDevice('dev-0', 16), partitionOfDevice('freezer-01', 16), partitionOfDevice('ao-0000', 16)]).toEqual([9, 12, 12]);
  });

  it('hands what one owner read but did not acknowledge to the next; acknowledged entries stay for the replay', async () => {
    const a = await node('a', 'h1:');
    const b = await node('b', 'h1:');
    const device = 'dev-7';
    const p = a.partitionOf(device);
    await a.add([1, 2, 3].map((n) => ({ deviceId: device, receivedAt: 5_000 + n, batch: batch(n) })));
    const first = (await a.readNew([p], 10, 1_000)).get(p) ?? [];
    expect(first.map((e) => e.batch.seq)).toEqual([1, 2, 3]);
    expect(first[0]).toMatchObject({ deviceId: device, receivedAt: 5_001 });
    await a.ack(p, [first[0]?.id ?? '']);
    // a "dies" having stored the first only: b, the next owner, finds the other two pending.
    const pending = await b.readPending(p, 100);
    expect(pending.map((e) => e.batch.seq)).toEqual([2, 3]);
    expect(await b.readNew([p], 10, 50)).toEqual(new Map());
    // The warm-up reads every entry up to the last delivered one, acknowledged or not.
    const last = await b.lastDelivered(p);
    expect(last).toBe(first[2]?.id);
    expect((await b.range(p, '0-0', last, 100)).map((e) => e.batch.seq)).toEqual([1, 2, 3]);
    await b.ack(p, pending.map((e) => e.id));
    expect(await b.readPending(p, 100)).toEqual([]);
  });

  it('reads several partitions in one blocking read and waits no longer than asked', async () => {
    const a = await node('a', 'h2:');
    const ids = ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5', 'dev-6'];
    await a.add(ids.map((deviceId, n) => ({ deviceId, receivedAt: n, batch: batch(n) })));
    const read = await a.readNew([0, 1, 2, 3], 100, 1_000);
    const seen = [...read.values()].flat().map((e) => e.deviceId).sort();
    expect(seen).toEqual([...ids].sort());
    for (const [p, entries] of read) for (const e of entries) expect(a.partitionOf(e.deviceId)).toBe(p);
    const started = Date.now();
    expect(await a.readNew([0, 1, 2, 3], 100, 300)).toEqual(new Map());
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('recreates the group of a stream Redis lost (FLUSHALL) and keeps forwarding', async () => {
    const a = await node('a', 'h3:');
    await redis.command('FLUSHALL');
    await a.add([{ deviceId: 'dev-1', receivedAt: 1, batch: batch(1) }]);
    const p = a.partitionOf('dev-1');
    const read = await a.readNew([p], 10, 1_000);
    expect((read.get(p) ?? []).map((e) => e.batch.seq)).toEqual([1]);
  });
});
