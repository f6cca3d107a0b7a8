/**
 * aedes on Redis (issue 15): `mqemitter-redis` carries every publish to the subscribers on
 * every node, `aedes-persistence-redis` holds retained messages, subscriptions and sessions.
 * Loaded only when OUTPOST_REDIS_URL is set (broker-part imports this module on demand).
 * The emitter is at most once with no backlog: what Outpost must deliver (DesiredConfig,
 * commands, TrustSet, OtaJob) is re-read from the database by the node holding the device.
 */
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';

export interface RedisAedesBackends {
  /** For `Aedes.createBroker({ mq, persistence })`. */
  readonly mq: unknown;
  readonly persistence: unknown;
  /** Whether the emitter's and the persistence's connections are all up (after a Redis restart: re-subscribed). */
  ready(): boolean;
  /** Closes the persistence's connection (aedes closes the emitter itself). */
  close(): Promise<void>;
}

export function redisAedesBackends(url: string): RedisAedesBackends {
  const connect = (name: string): Redis => {
    const redis = new Redis(url, { maxRetriesPerRequest: null, enableAutoPipelining: true, connectionName: `outpost-aedes-${name}`, retryStrategy: (attempt) => Math.min(100 * attempt, 1_000) });
    redis.on('error', () => undefined); // the cluster bus logs Redis trouble once; ioredis retries
    return redis;
  };
  // As aedes' own default emitter: `a/#` also matches `a` [MQTT-4.7.1-3].
  const subConn = connect('sub');
  const pubConn = connect('pub');
  const mq = MQEmitterRedis({ subConn, pubConn, matchEmptyLevels: true });
  // The emitter re-emits its connections' errors on `state`: unheard, an EventEmitter error throws.
  (mq as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => undefined);
  const conn = connect('persistence');
  const persistence = aedesPersistenceRedis({ conn });
  oncePerSubscribe(persistence as unknown as SubscriptionStore);
  let closed = false;
  return {
    mq,
    persistence,
    ready: () => subConn.status === 'ready' && pubConn.status === 'ready' && conn.status === 'ready',
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        persistence.destroy(() => resolve());
      }),
  };
}

interface SubscriptionStore {
  addSubscriptions(client: unknown, subscriptions: object): Promise<unknown>;
}

/**
 * aedes 1.2 stores a SUBSCRIBE's subscriptions once per topic of the packet, each time with the
 * packet's whole list; aedes-persistence-redis then waits for its own broadcast of each call, and
 * with two or more topics in one SUBSCRIBE (what the agent sends: config, trust, errors, commands,
 * OTA jobs) on the Redis emitter the second wait never ends — no SUBACK. One store per packet (the
 * list is the same array for every topic of it) is what was meant, and it completes.
 */
function oncePerSubscribe(store: SubscriptionStore): void {
  const add = store.addSubscriptions.bind(store);
  const inFlight = new WeakMap<object, Promise<unknown>>();
  store.addSubscriptions = (client, subscriptions) => {
    let stored = inFlight.get(subscriptions);
    if (stored === undefined) {
      stored = add(client, subscriptions);
      inFlight.set(subscriptions, stored);
    }
    return stored;
  };
}
