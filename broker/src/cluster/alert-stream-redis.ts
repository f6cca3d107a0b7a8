/**
 * The alert streams over Redis (issue 15 item 5, docs/adr/0013-alert-partitions.md): one stream
 * per partition, `<prefix>alerts:<p>`, with one consumer group `alerts`. Broker nodes add the
 * records their spool made durable; the evaluator holding a partition's lease reads it through the
 * group and acknowledges what it stored. Two ioredis connections: commands, and one for the
 * blocking group reads (a blocked connection answers nothing else).
 *
 * Entry fields: `d` device id, `r` received at (epoch ms), `b` the accepted batch as JSON.
 */
import { Redis } from 'ioredis';
import type { AlertStreamEntry, AlertStreamPort } from '@outpost/kernel';
import type { TelemetryBatch } from '@outpost/protocol';
import type { Log } from '../ports/log.js';

export const ALERT_GROUP = 'alerts';

export interface AlertStreamRedisOptions {
  readonly url: string;
  readonly log: Log;
  readonly nodeId: string;
  /** Key prefix; default `outpost:`. */
  readonly keyPrefix?: string;
  readonly partitions: number;
  /** Each stream is trimmed to about this many entries (XADD MAXLEN ~). */
  readonly maxLen: number;
  readonly commandTimeoutMs: number;
}

export interface AlertStreamRedis extends AlertStreamPort {
  /** Adds the records of one spool batch, each to its device's partition (one round trip). */
  add(records: readonly { readonly deviceId: string; readonly receivedAt: number; readonly batch: TelemetryBatch }[]): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** FNV-1a (32 bit) of the device id: the same partition on every node and every version. */
export function partitionOfDevice(deviceId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) {
    hash ^= deviceId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

type RawEntry = [id: string, fields: string[] | null];
type RawRead = [key: string, entries: RawEntry[]][] | null;

export async function connectAlertStreamRedis(options: AlertStreamRedisOptions): Promise<AlertStreamRedis> {
  const prefix = options.keyPrefix ?? 'outpost:';
  const { partitions, log } = options;
  const keyOf = (p: number): string => `${prefix}alerts:${p}`;
  const redisOptions = {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: null,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
  };
  const redis = new Redis(options.url, { ...redisOptions, connectionName: `outpost-${options.nodeId}-alerts` });
  const blocking = new Redis(options.url, { ...redisOptions, connectionName: `outpost-${options.nodeId}-alerts-read`, commandTimeout: undefined });
  let lastError = '';
  const noteError = (which: string) => (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: err.message, redis: which }, 'alert streams: Redis connection error (retrying)');
  };
  redis.on('error', noteError('commands'));
  blocking.on('error', noteError('reads'));
  await Promise.all([redis.connect(), blocking.connect()]);
  const groups = new Set<number>();
  const ensureGroup = async (p: number): Promise<void> => {
    if (groups.has(p)) return;
    try {
      // From the stream's start: entries added before the group existed are evaluated too.
      await redis.xgroup('CREATE', keyOf(p), ALERT_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('BUSYGROUP')) throw err;
    }
    groups.add(p);
  };
  for (let p = 0; p < partitions; p++) await ensureGroup(p);
  // A stream deleted behind our back (FLUSHALL) loses its group: recreate on NOGROUP.
  const withGroup = async <T>(ps: readonly number[], work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOGROUP')) throw err;
      for (const p of ps) groups.delete(p);
      for (const p of ps) await ensureGroup(p);
      return await work();
    }
  };
  const consumer = 'owner';
  const parse = (entries: readonly RawEntry[]): { entries: AlertStreamEntry[]; trimmed: string[] } => {
    const out: AlertStreamEntry[] = [];
    const trimmed: string[] = [];
    for (const [id, fields] of entries) {
      const entry = fields === null ? undefined : entryOf(id, fields);
      if (entry === undefined) trimmed.push(id);
      else out.push(entry);
    }
    return { entries: out, trimmed };
  };

  const port: AlertStreamRedis = {
    partitions,
    partitionOf: (deviceId) => partitionOfDevice(deviceId, partitions),
    get connected() {
      return redis.status === 'ready';
    },

    async add(records) {
      if (records.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { deviceId, receivedAt, batch } of records) {
        pipeline.xadd(keyOf(partitionOfDevice(deviceId, partitions)), 'MAXLEN', '~', String(options.maxLen), '*', 'd', deviceId, 'r', String(receivedAt), 'b', JSON.stringify(batch));
      }
      const results = await pipeline.exec();
      for (const [err] of results ?? []) if (err !== null) throw err;
    },

    async readPending(p, count) {
      const raw = (await withGroup([p], () => redis.xreadgroup('GROUP', ALERT_GROUP, consumer, 'COUNT', count, 'STREAMS', keyOf(p), '0'))) as RawRead;
      const { entries, trimmed } = parse(raw?.[0]?.[1] ?? []);
      // Pending entries the stream no longer holds (trimmed) cannot be evaluated: acknowledged.
      if (trimmed.length > 0) await redis.xack(keyOf(p), ALERT_GROUP, ...trimmed);
      return entries;
    },

    async readNew(ps, count, blockMs) {
      const result = new Map<number, AlertStreamEntry[]>();
      if (ps.length === 0) return result;
      const keys = ps.map(keyOf);
      const raw = (await withGroup(ps, () => blocking.xreadgroup('GROUP', ALERT_GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...keys, ...keys.map(() => '>')))) as RawRead;
      for (const [key, list] of raw ?? []) {
        const p = Number(key.slice(key.lastIndexOf(':') + 1));
        const { entries, trimmed } = parse(list);
        // An entry no node could have written (not a batch) is reported and acknowledged, never retried forever.
        if (trimmed.length > 0) {
          log.warn({ partition: p, entries: trimmed }, 'alert streams: unreadable entries skipped');
          await redis.xack(key, ALERT_GROUP, ...trimmed);
        }
        result.set(p, entries);
      }
      return result;
    },

    async range(p, fromId, toId, count) {
      const raw = (await redis.xrange(keyOf(p), fromId, toId, 'COUNT', count)) as RawEntry[];
      return parse(raw).entries;
    },

    async lastDelivered(p) {
      const groupsInfo = (await withGroup([p], async () => {
        await ensureGroup(p);
        return redis.xinfo('GROUPS', keyOf(p));
      })) as unknown[][];
      for (const info of groupsInfo) {
        const fields = new Map<string, unknown>();
        for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
        if (fields.get('name') === ALERT_GROUP) return String(fields.get('last-delivered-id') ?? '0-0');
      }
      return '0-0';
    },

    async ack(p, ids) {
      if (ids.length > 0) await redis.xack(keyOf(p), ALERT_GROUP, ...ids);
    },

    async close() {
      blocking.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
  return port;
}

function entryOf(id: string, fields: readonly string[]): AlertStreamEntry | undefined {
  let deviceId: string | undefined;
  let receivedAt: number | undefined;
  let body: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    if (fields[i] === 'd') deviceId = value;
    else if (fields[i] === 'r') receivedAt = Number(value);
    else if (fields[i] === 'b') body = value;
  }
  if (deviceId === undefined || receivedAt === undefined || !Number.isFinite(receivedAt) || body === undefined) return undefined;
  let batch: unknown;
  try {
    batch = JSON.parse(body);
  } catch {
    return undefined;
  }
  // Written by a broker node from a batch its publish hook accepted; the shape is checked, not the limits again.
  if (typeof batch !== 'object' || batch === null || !Array.isArray((batch as { samples?: unknown }).samples)) return undefined;
  return { id, deviceId, receivedAt, batch: batch as TelemetryBatch };
}
