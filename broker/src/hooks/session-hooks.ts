/**
 * All of the broker's MQTT policy as one MqttHooks object for the aedes adapter: connect
 * (authenticate), publish and subscribe checks, and session lifecycle (presence into the
 * registry and the inbox, desired config on reconnect, commands on subscribe).
 */
import type { RegistryPort, LivePort } from '@outpost/kernel';
import { KeyedQueue } from '../domain/keyed-queue.js';
import { identityLabel } from '../domain/identity.js';
import type { PublishQuota } from '../domain/publish-quota.js';
import type { BrokerMetrics } from '../ports/broker-metrics.js';
import type { LiveSession } from '../ports/live-sessions.js';
import type { Log } from '../ports/log.js';
import type { MqttHooks } from '../ports/mqtt-hooks.js';
import type { IdentityChecker } from '../services/identity-checker.js';
import type { InboxRouter } from '../services/inbox-router.js';
import type { InstructionDelivery } from '../services/instruction-delivery.js';
import { SessionExpiry, type Schedule } from '../services/session-expiry.js';
import type { SessionRegistry } from '../services/session-registry.js';
import { authenticate } from './authenticate.js';
import { authorizePublish, type PublishHookDeps } from './authorize-publish.js';
import { authorizeSubscribe } from './authorize-subscribe.js';

export interface SessionHooksDeps extends Omit<PublishHookDeps, 'isCurrent'> {
  readonly registry: RegistryPort;
  readonly identities: IdentityChecker;
  readonly sessions: SessionRegistry;
  readonly delivery: InstructionDelivery;
  readonly inbox: InboxRouter;
  readonly quota: PublishQuota;
  readonly live: LivePort;
  readonly metrics: BrokerMetrics;
  readonly log: Log;
  /** Runs the certificate-expiry timers (default: setTimeout, unref'd). */
  readonly schedule?: Schedule;
}

export interface SessionHooks extends MqttHooks {
  /** Resolves when every presence write has run (shutdown). */
  idle(): Promise<void>;
}

export function createSessionHooks(deps: SessionHooksDeps): SessionHooks {
  const { registry, sessions, delivery, inbox, metrics, log } = deps;
  const presence = new KeyedQueue((deviceId, err) => log.error({ err, deviceId }, 'could not record the device presence'));
  const live = new WeakSet<LiveSession>();
  const expiry = new SessionExpiry({
    now: deps.now,
    ...(deps.schedule === undefined ? {} : { schedule: deps.schedule }),
    expired: (session, reason) => log.info({ identity: identityLabel(session.identity), serial: session.identity.serial }, `mqtt session closed: ${reason}`),
  });

  const publishDeps: PublishHookDeps = { ...deps, isCurrent: (session) => session.identity.kind === 'device' && sessions.device(session.identity.deviceId) === session };

  return {
    authenticate: (request) => authenticate(deps, request),

    ready(session) {
      live.add(session);
      const identity = session.identity;
      metrics.connected(identity.kind);
      expiry.watch(session);
      log.info({ identity: identityLabel(identity), serial: identity.serial }, 'mqtt session opened');
      if (identity.kind !== 'device') return;
      const { deviceId } = identity;
      const at = session.connectedAt;
      void presence.run(deviceId, () => registry.recordStatus(deviceId, { online: true, at }));
      inbox.presence({ deviceId, online: true, at });
      delivery.onReady(deviceId);
    },

    closed(session) {
      const current = sessions.remove(session);
      expiry.forget(session);
      if (!live.has(session)) return;
      live.delete(session);
      const identity = session.identity;
      const reason = session.closeReason ?? 'client';
      metrics.disconnected(identity.kind, session.closeCode ?? 'client');
      log.info({ identity: identityLabel(identity), reason }, 'mqtt session closed');
      if (identity.kind !== 'device' || !current) return;
      const { deviceId } = identity;
      const at = deps.now();
      deps.quota.release(deviceId, at);
      void presence.run(deviceId, () => registry.recordStatus(deviceId, { online: false, at }));
      deps.live.publish({ topic: 'status', deviceId, payload: { v: 1, state: 'offline' } });
      inbox.presence({ deviceId, online: false, at, ...(session.closeReason === undefined ? {} : { reason: session.closeReason }) });
    },

    authorizePublish: (session, packet, options) => authorizePublish(publishDeps, session, packet, options),

    authorizeSubscribe: (session, topic, qos) => authorizeSubscribe(deps, session, topic, qos),

    subscribed(session, topics) {
      if (session.identity.kind === 'device') delivery.onSubscribed(session.identity.deviceId, topics);
    },

    delivered: (bytes) => metrics.messageOut(bytes),

    clientError(session, error) {
      log.debug({ identity: session === undefined ? undefined : identityLabel(session.identity), err: error.message }, 'mqtt client error');
    },

    idle: () => presence.idle(),
  };
}
