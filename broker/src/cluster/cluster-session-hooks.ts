/**
 * Fenced session takeover across broker nodes (issue 15, docs/adr/0010-broker-cluster.md).
 * Wraps the broker's hooks when `ports.cluster` is composed:
 *
 * - connect: after Outpost's own checks, the device's epoch is raised in Redis (INCR) before
 *   the CONNACK; if Redis cannot answer, the connect is refused with CONNACK 3.
 * - publish: before a device's publish is accepted (spooled, acknowledged, forwarded), the
 *   device's epoch is read from Redis; a session whose epoch is no longer the current one is
 *   closed (SESSION_TAKEN_OVER) and the publish gets no PUBACK. If Redis does not answer within
 *   its timeout the publish is not acknowledged either (the connection closes; the agent
 *   resends after reconnecting).
 * - a takeover announced on the bus closes the older local session at once; the periodic
 *   resync re-reads the epochs of every local session, in case that message was lost.
 * - resync (bus reconnected, or the timer): every local device gets its desired config again
 *   and its pending commands from the database — the repair for a missed bus message.
 */
import { topics } from '@outpost/protocol';
import type { ClusterBus, DeviceClaim } from '@outpost/kernel';
import type { Subscription } from 'rxjs';
import type { SessionHooks } from '../hooks/session-hooks.js';
import type { LiveSession } from '../ports/live-sessions.js';
import type { Log } from '../ports/log.js';
import type { PublishVerdict } from '../ports/mqtt-hooks.js';
import type { InstructionDelivery } from '../services/instruction-delivery.js';
import type { SessionRegistry } from '../services/session-registry.js';

export interface ClusterSessionDeps {
  readonly bus: ClusterBus;
  readonly sessions: SessionRegistry;
  readonly delivery: InstructionDelivery;
  readonly log: Log;
  /**
   * Whether aedes' Redis emitter and persistence are up: a resync waits for them, or what it
   * re-sends after a Redis restart could go out before the emitter re-subscribed (and be lost).
   */
  readonly backendsReady?: () => boolean;
  /** How often a resync waiting for `backendsReady` looks again; default 100 ms. */
  readonly backendsPollMs?: number;
}

export interface ClusterSessions {
  /** The broker's hooks with the fencing above. */
  wrap(hooks: SessionHooks): SessionHooks;
  /** Stops listening to the bus. */
  close(): void;
}

export const TAKEN_OVER = 'SESSION_TAKEN_OVER';

export function clusterSessions(deps: ClusterSessionDeps): ClusterSessions {
  const { bus, sessions, delivery, log } = deps;
  const claims = new WeakMap<LiveSession, DeviceClaim>();
  const subscriptions: Subscription[] = [];

  const fence = (session: LiveSession, claim: DeviceClaim, current: number, by: string): void => {
    if (session.closed) return;
    session.close(`the device connected to node ${by} (epoch ${current} > ${claim.epoch})`, TAKEN_OVER);
    log.info({ deviceId: claim.deviceId, epoch: claim.epoch, current, by }, 'mqtt session fenced: taken over by another node');
  };

  let waiting: NodeJS.Timeout | undefined;
  function resync(): void {
    if (deps.backendsReady !== undefined && !deps.backendsReady()) {
      // One pending wait at most; resyncs that arrive meanwhile are the same work.
      waiting ??= setTimeout(() => {
        waiting = undefined;
        resync();
      }, deps.backendsPollMs ?? 100);
      waiting.unref();
      return;
    }
    for (const deviceId of sessions.deviceIds()) {
      const session = sessions.device(deviceId);
      const claim = session === undefined ? undefined : claims.get(session);
      if (session === undefined || claim === undefined) continue;
      bus.epochOf(deviceId).then(
        (current) => {
          if (current > claim.epoch) fence(session, claim, current, 'elsewhere');
          else {
            delivery.onReady(deviceId);
            delivery.onSubscribed(deviceId, [topics.commands(deviceId)]);
          }
        },
        (err: unknown) => log.warn({ deviceId, err: err instanceof Error ? err.message : String(err) }, 'cluster resync: epoch not read; retried on the next resync'),
      );
    }
  }

  subscriptions.push(
    bus.takeovers.subscribe((taken) => {
      const local = sessions.device(taken.deviceId);
      const claim = local === undefined ? undefined : claims.get(local);
      if (local !== undefined && claim !== undefined && claim.epoch < taken.epoch) fence(local, claim, taken.epoch, taken.nodeId);
    }),
    bus.resyncs.subscribe(() => resync()),
  );

  return {
    wrap(hooks) {
      return {
        ...hooks,
        async authenticate(request) {
          let opened: LiveSession | undefined;
          const verdict = await hooks.authenticate({
            ...request,
            open: (identity) => {
              opened = request.open(identity);
              return opened;
            },
          });
          if (!verdict.ok || opened === undefined || opened.identity.kind !== 'device') return verdict;
          const deviceId = opened.identity.deviceId;
          try {
            claims.set(opened, await bus.claimDevice(deviceId));
            return verdict;
          } catch (err) {
            const message = `the device's session could not be claimed in Redis: ${err instanceof Error ? err.message : String(err)}`;
            log.warn({ deviceId, reason: 'REDIS_UNAVAILABLE' }, `mqtt connection refused: ${message}`);
            return { ok: false, refusal: { reason: 'REDIS_UNAVAILABLE', returnCode: 3, message } };
          }
        },

        closed(session) {
          hooks.closed(session);
          const claim = claims.get(session);
          if (claim === undefined) return;
          claims.delete(session);
          bus.releaseDevice(claim).catch((err: unknown) => log.debug({ deviceId: claim.deviceId, err: err instanceof Error ? err.message : String(err) }, 'cluster: holder not released (the next claim replaces it)'));
        },

        async authorizePublish(session, packet, options): Promise<PublishVerdict> {
          const claim = session === undefined || options.will ? undefined : claims.get(session);
          if (session === undefined || claim === undefined) return hooks.authorizePublish(session, packet, options);
          let current: number;
          try {
            current = await bus.epochOf(claim.deviceId);
          } catch (err) {
            return { action: 'disconnect', reason: `REDIS_UNAVAILABLE: the session's epoch could not be checked: ${err instanceof Error ? err.message : String(err)}` };
          }
          if (current > claim.epoch) {
            fence(session, claim, current, 'elsewhere');
            return { action: 'disconnect', reason: `${TAKEN_OVER}: the device connected to another node` };
          }
          return hooks.authorizePublish(session, packet, options);
        },
      };
    },

    close() {
      if (waiting !== undefined) clearTimeout(waiting);
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
