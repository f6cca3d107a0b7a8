/**
 * The cluster part (issue 15, docs/adr/0010-broker-cluster.md): composed when
 * OUTPOST_REDIS_URL is set, right after the registry and before the broker, on every node
 * (broker and control roles alike). It connects the Redis bus and provides it as
 * `ports.cluster`; it forwards this node's registry events to the other nodes, and bridges
 * live events both ways so an operator's live stream on any node sees every node's devices.
 * ioredis is imported only when the part starts: a single process never loads it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Observable, Subscription } from 'rxjs';
import { Subject } from 'rxjs';
import type { ClusterBus, DeviceClaim, LiveEvent, Part, PartDeps, Readiness } from '@outpost/kernel';
import { OutpostError, type RegistryEvent } from '@outpost/protocol';
import type { RedisClusterBus } from './redis-cluster-bus.js';

export const CLUSTER_PART_NAME = 'cluster';

export interface ClusterPartOptions {
  /** This node's id; default `<hostname>-<pid>-<random>`. */
  readonly nodeId?: string;
  /** Key and channel prefix in Redis; default `outpost:` (tests sharing one Redis use their own). */
  readonly keyPrefix?: string;
  /** A Redis command not answered within this long fails (a connect is refused, a publish not acknowledged); default 5 s. */
  readonly commandTimeoutMs?: number;
  /** How often the nodes re-read what a lost bus message would have told them; default 30 s. */
  readonly resyncIntervalMs?: number;
}

export interface ClusterPart extends Part {
  readonly provides: { readonly cluster: ClusterBus };
}

export function createClusterPart(options: ClusterPartOptions = {}): (deps: PartDeps) => ClusterPart {
  return (deps) => {
    const url = deps.config.redisUrl;
    if (url === undefined) throw new OutpostError('VALIDATION_FAILED', 'the cluster part needs OUTPOST_REDIS_URL (redis://host:port)');
    for (const key of ['commandTimeoutMs', 'resyncIntervalMs'] as const) {
      const value = options[key];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new OutpostError('VALIDATION_FAILED', `invalid cluster options: ${key} must be a whole number of at least 1, got ${String(value)}`);
    }
    const log = deps.log.child({ part: CLUSTER_PART_NAME });
    const nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const registryEvents = new Subject<RegistryEvent>();
    const takeovers = new Subject<DeviceClaim>();
    const resyncs = new Subject<void>();
    const subscriptions: Subscription[] = [];
    // Live events that came from another node: published here, never sent back out.
    const fromElsewhere = new WeakSet<LiveEvent>();
    let bus: RedisClusterBus | undefined;
    let closed = false;

    const started = (): RedisClusterBus => {
      if (bus === undefined) throw new OutpostError('REDIS_UNAVAILABLE', 'the cluster bus is not connected: the cluster part has not started');
      return bus;
    };
    const port: ClusterBus = {
      nodeId,
      remoteRegistryEvents: registryEvents.asObservable(),
      takeovers: takeovers.asObservable(),
      resyncs: resyncs.asObservable(),
      get connected() {
        return bus?.connected ?? false;
      },
      claimDevice: async (deviceId) => started().claimDevice(deviceId),
      epochOf: async (deviceId) => started().epochOf(deviceId),
      releaseDevice: async (claim) => started().releaseDevice(claim),
      holderOf: async (deviceId) => started().holderOf(deviceId),
    };
    const forward = <T>(from: Observable<T>, to: Subject<T>): void => {
      subscriptions.push(from.subscribe((value) => to.next(value)));
    };

    return {
      name: CLUSTER_PART_NAME,
      provides: { cluster: port },

      async start() {
        const { connectRedisClusterBus } = await import('./redis-cluster-bus.js');
        bus = await connectRedisClusterBus({
          url,
          log,
          nodeId,
          ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
          ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
          ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
        });
        const connected = bus;
        forward(connected.remoteRegistryEvents, registryEvents);
        forward(connected.takeovers, takeovers);
        forward(connected.resyncs, resyncs);
        const registry = deps.ports.registry;
        if (registry !== undefined) subscriptions.push(registry.events.subscribe((event) => connected.publishRegistryEvent(event)));
        if (deps.live.events !== undefined) {
          subscriptions.push(
            deps.live.events.subscribe((event) => {
              if (!fromElsewhere.has(event)) connected.publishLiveEvent(event);
            }),
          );
        }
        subscriptions.push(
          connected.remoteLiveEvents.subscribe((event) => {
            fromElsewhere.add(event);
            deps.live.publish(event);
          }),
        );
        log.info({ nodeId, registryEvents: registry !== undefined }, 'cluster bus connected');
      },

      ready: (): Readiness => {
        if (closed || bus === undefined) return 'down';
        // Still serving what needs no Redis; connects and publishes wait or are refused meanwhile.
        return bus.connected ? 'ok' : 'degraded';
      },

      async close() {
        closed = true;
        for (const subscription of subscriptions) subscription.unsubscribe();
        await bus?.close();
        registryEvents.complete();
        takeovers.complete();
        resyncs.complete();
      },
    };
  };
}
