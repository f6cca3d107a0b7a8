/**
 * SUBSCRIBE (issue 4, item 3): a device subscribes only to its own platform → device topics
 * (exact topics), an integration only under `integrations/`; a violation disconnects and
 * is counted. Granted QoS is at most the topic's (1).
 */
import { checkIntegrationSubscription, checkSubscription } from '@outpost/protocol';
import { identityLabel } from '../domain/identity.js';
import type { BrokerMetrics } from '../ports/broker-metrics.js';
import type { LiveSession } from '../ports/live-sessions.js';
import type { Log } from '../ports/log.js';
import type { SubscribeVerdict } from '../ports/mqtt-hooks.js';

export function authorizeSubscribe(deps: { metrics: BrokerMetrics; log: Log }, session: LiveSession | undefined, filter: string, qos: number): SubscribeVerdict {
  if (session === undefined) return { ok: false, reason: 'subscribe without an admitted session' };
  const identity = session.identity;
  const checked = identity.kind === 'device' ? checkSubscription(identity.deviceId, filter) : checkIntegrationSubscription(filter);
  if (!checked.ok) {
    deps.metrics.aclRefusal('subscribe', checked.code);
    deps.log.warn({ identity: identityLabel(identity), code: checked.code }, `mqtt subscription refused (${checked.code}): ${checked.reason}; disconnecting`);
    return { ok: false, reason: checked.reason };
  }
  return { ok: true, qos: qos >= 1 ? 1 : 0 };
}
