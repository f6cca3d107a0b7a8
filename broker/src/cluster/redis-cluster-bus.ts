/**
 * The cluster bus over Redis (issue 15, docs/adr/0010-broker-cluster.md): two ioredis
 * connections (commands, and one in subscriber mode), the device epochs that fence session
 * takeover, the presence hash, and the pub/sub channels below. Pub/sub is at most once:
 * `resyncs` fires after every re-subscription and on a timer so consumers re-read their truth.
 *
 * Keys and channels (prefix `outpost:` unless `keyPrefix` says otherwise):
 *   <p>epoch:<deviceId>     raised on every connect (the fencing token; never below the claiming node's clock in ms)
 *   <p>holders              hash deviceId → "<epoch> <nodeId>" (presence: who holds it)
 *   <p>bus:registry         registry events made on one node, for the others
 *   <p>bus:takeover         DeviceClaim after every claim
 *   <p>bus:live             live events (telemetry, status, alerts, rollouts) for the other nodes' SSE
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Subject, type Observable } from 'rxjs';
import { LIVE_TOPICS, type ClusterBus, type DeviceClaim, type LiveEvent } from '@outpost/kernel';
import { OutpostError, validatePayload, type RegistryEvent } from '@outpost/protocol';
import type { Log } from '../ports/log.js';

export interface RedisClusterBusOptions {
  /** OUTPOST_REDIS_URL. */
  readonly url: string;
  readonly log: Log;
  /** Defaults to a random id per start. */
  readonly nodeId?: string;
  /** Key and channel prefix; default `outpost:`. */
  readonly keyPrefix?: string;
  /** A Redis command not answered within this long rejects (REDIS_UNAVAILABLE); default 5 s. */
  readonly commandTimeoutMs?: number;
  /** How often `resyncs` fires even without a reconnect; default 30 s. */
  readonly resyncIntervalMs?: number;
}

/** The bus plus the live-event channel the cluster part bridges. */
export interface RedisClusterBus extends ClusterBus {
  publishRegistryEvent(event: RegistryEvent): void;
  publishLiveEvent(event: LiveEvent): void;
  readonly remoteLiveEvents: Observable<LiveEvent>;
  /** The command connection, shared with the alerts partitions (never in subscriber mode). */
  readonly redis: Redis;
  readonly keyPrefix: string;
  close(): Promise<void>;
}

interface Envelope<T> {
  /** The node that sent it. */
  readonly o: string;
  readonly b: T;
}

// The epoch never goes back, even when Redis lost its data (restarted without persistence):
// a claim answers at least the claiming node's clock in ms, so a later claim outranks every
// claim made before the loss as long as the nodes' clocks agree within that gap.
const CLAIM = `local e = redis.call('INCR', KEYS[1]) local t = tonumber(ARGV[1]) if e < t then redis.call('SET', KEYS[1], ARGV[1]) e = t end redis.call('HSET', KEYS[2], ARGV[2], e .. ' ' .. ARGV[3]) return e`;
const RELEASE_IF_MINE = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) else return 0 end`;

/** Connects both connections and subscribes; resolves once the bus is usable. */
export async function connectRedisClusterBus(options: RedisClusterBusOptions): Promise<RedisClusterBus> {
  const nodeId = options.nodeId ?? randomUUID();
  const prefix = options.keyPrefix ?? 'outpost:';
  const timeoutMs = options.commandTimeoutMs ?? 5_000;
  const log = options.log;
  const channels = { registry: `${prefix}bus:registry`, takeover: `${prefix}bus:takeover`, live: `${prefix}bus:live` };
  const holdersKey = `${prefix}holders`;
  const epochKey = (deviceId: string): string => `${prefix}epoch:${deviceId}`;
  const redisOptions = {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: null,
    commandTimeout: timeoutMs,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
  };
  const redis = new Redis(options.url, { ...redisOptions, connectionName: `outpost-${nodeId}` });
  const subscriber = new Redis(options.url, { ...redisOptions, connectionName: `outpost-${nodeId}-sub`, commandTimeout: undefined });
  const registryEvents = new Subject<RegistryEvent>();
  const takeovers = new Subject<DeviceClaim>();
  const liveEvents = new Subject<LiveEvent>();
  const resyncs = new Subject<void>();
  let closed = false;
  let subscribedOnce = false;
  let lastError = '';
  const noteError = (which: string) => (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    log.warn({ err: err.message, redis: which }, 'cluster bus: Redis connection error (retrying)');
  };
  redis.on('error', noteError('commands'));
  subscriber.on('error', noteError('subscriber'));

  subscriber.on('message', (channel: string, text: string) => {
    let envelope: Envelope<unknown>;
    try {
      envelope = JSON.parse(text) as Envelope<unknown>;
    } catch {
      log.warn({ channel }, 'cluster bus: unreadable message dropped');
      return;
    }
    if (typeof envelope !== 'object' || envelope === null || envelope.o === nodeId) return;
    // Every message is checked like any other input: Redis is shared, not trusted blindly.
    if (channel === channels.registry) {
      const event = validatePayload('RegistryEvent', envelope.b);
      if (event.ok) registryEvents.next(event.value);
      else log.warn({ channel, reason: event.reason }, 'cluster bus: invalid registry event dropped');
    } else if (channel === channels.takeover) {
      if (isClaim(envelope.b)) takeovers.next(envelope.b);
      else log.warn({ channel }, 'cluster bus: invalid takeover dropped');
    } else if (channel === channels.live) {
      if (isLiveEvent(envelope.b)) liveEvents.next(envelope.b);
      else log.warn({ channel }, 'cluster bus: invalid live event dropped');
    }
  });
  subscriber.on('ready', () => {
    // ioredis re-subscribes on reconnect; whatever was published meanwhile is gone.
    if (subscribedOnce && !closed) {
      log.info('cluster bus: Redis reconnected; re-reading what may have been missed');
      lastError = '';
      resyncs.next();
    }
  });

  const fail = (what: string) => (err: unknown): never => {
    throw new OutpostError('REDIS_UNAVAILABLE', `cluster bus: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  };
  await redis.connect().catch(fail(`connecting to ${redactUrl(options.url)}`));
  await subscriber.connect().catch(fail(`connecting to ${redactUrl(options.url)}`));
  await subscriber.subscribe(channels.registry, channels.takeover, channels.live).catch(fail('subscribing'));
  subscribedOnce = true;
  const timer = setInterval(() => resyncs.next(), options.resyncIntervalMs ?? 30_000);
  timer.unref();

  const send = (channel: string, body: unknown): void => {
    if (closed) return;
    redis.publish(channel, JSON.stringify({ o: nodeId, b: body } satisfies Envelope<unknown>)).catch((err: unknown) => {
      log.debug({ err: err instanceof Error ? err.message : String(err), channel }, 'cluster bus: publish lost (receivers re-read on their next resync)');
    });
  };

  return {
    nodeId,
    redis,
    keyPrefix: prefix,
    remoteRegistryEvents: registryEvents.asObservable(),
    takeovers: takeovers.asObservable(),
    remoteLiveEvents: liveEvents.asObservable(),
    resyncs: resyncs.asObservable(),
    get connected() {
      return redis.status === 'ready' && subscriber.status === 'ready';
    },

    async claimDevice(deviceId) {
      const answer = await redis.eval(CLAIM, 2, epochKey(deviceId), holdersKey, String(Date.now()), deviceId, nodeId).catch(fail(`claiming device ${deviceId}`));
      const claim: DeviceClaim = { deviceId, epoch: Number(answer), nodeId };
      send(channels.takeover, claim);
      return claim;
    },

    async epochOf(deviceId) {
      const value = await redis.get(epochKey(deviceId)).catch(fail(`reading the epoch of ${deviceId}`));
      return value === null ? 0 : Number(value);
    },

    async releaseDevice(claim) {
      await redis.eval(RELEASE_IF_MINE, 1, holdersKey, claim.deviceId, `${claim.epoch} ${claim.nodeId}`).catch(fail(`releasing device ${claim.deviceId}`));
    },

    async holderOf(deviceId) {
      const value = await redis.hget(holdersKey, deviceId).catch(fail(`reading the holder of ${deviceId}`));
      if (value === null) return undefined;
      const space = value.indexOf(' ');
      return { deviceId, epoch: Number(value.slice(0, space)), nodeId: value.slice(space + 1) };
    },

    publishRegistryEvent: (event) => send(channels.registry, event),
    publishLiveEvent: (event) => send(channels.live, event),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      registryEvents.complete();
      takeovers.complete();
      liveEvents.complete();
      resyncs.complete();
      subscriber.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function isClaim(value: unknown): value is DeviceClaim {
  if (typeof value !== 'object' || value === null) return false;
  const claim = value as Record<string, unknown>;
  return typeof claim['deviceId'] === 'string' && typeof claim['nodeId'] === 'string' && Number.isSafeInteger(claim['epoch']);
}

function isLiveEvent(value: unknown): value is LiveEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  const deviceId = event['deviceId'];
  return (LIVE_TOPICS as readonly unknown[]).includes(event['topic']) && (deviceId === undefined || typeof deviceId === 'string') && 'payload' in event;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return 'the Redis URL';
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
