/**
 * One device publish (issue 4, items 3, 5 and 6): the ACL (violation: disconnect), the
 * per-device rate (excess: PUBACK withheld until the device is back under its rate, or a
 * disconnect when that would take too long), the payload (violation: acknowledged, dropped,
 * counted, logged and explained on `devices/{id}/errors`), then storage — the telemetry
 * batch into the ingest spool — before the verdict lets aedes acknowledge.
 */
import { encodePayload, topics, type ProtocolLimits, type PublishError, type TelemetryBatch } from '@outpost/protocol';
import { checkDeviceTopic, decodeInbound } from '../domain/inbound-message.js';
import type { TypeClaim } from '../domain/metric-types.js';
import type { PublishQuota } from '../domain/publish-quota.js';
import type { BrokerMetrics } from '../ports/broker-metrics.js';
import type { LiveSession } from '../ports/live-sessions.js';
import type { Log } from '../ports/log.js';
import type { InboundPacket, MqttOutbound, PublishVerdict } from '../ports/mqtt-hooks.js';
import type { InboxRouter } from '../services/inbox-router.js';

export interface PublishHookDeps {
  readonly limits: ProtocolLimits;
  readonly quota: PublishQuota;
  readonly inbox: InboxRouter;
  readonly outbound: MqttOutbound;
  readonly metrics: BrokerMetrics;
  readonly log: Log;
  readonly now: () => number;
  /** Waits `ms` (injected so tests and shutdown control it); resolves false when cancelled. */
  readonly wait: (ms: number) => Promise<boolean>;
  /** Whether the session is still its device's current one (not taken over by a newer connection). */
  readonly isCurrent: (session: LiveSession) => boolean;
  /** Fleet-wide metric types: refuses a metric sent with another type than its first accepted value. */
  readonly metricTypes: { admit(batch: TelemetryBatch): Promise<TypeClaim> };
}

const ACCEPT: PublishVerdict = Object.freeze({ action: 'accept' });
const DROP: PublishVerdict = Object.freeze({ action: 'drop' });

/**
 * `options.queued` is called when the publish is accepted and its batch has its place in the
 * spool, so only the group-commit fsync remains: the adapter may take the client's next
 * publish meanwhile (the verdict still resolves only once the batch is durable).
 */
export async function authorizePublish(
  deps: PublishHookDeps,
  session: LiveSession | undefined,
  packet: InboundPacket,
  options: { readonly will: boolean; readonly queued?: () => void },
): Promise<PublishVerdict> {
  if (session === undefined) return { action: 'disconnect', reason: 'publish without an admitted session' };
  const identity = session.identity;
  if (identity.kind !== 'device') {
    deps.metrics.aclRefusal('publish', 'INTEGRATION_PUBLISH');
    deps.log.warn({ integration: identity.name, topic: packet.topic.slice(0, 256) }, 'mqtt publish refused: integrations may only subscribe; disconnecting');
    return { action: 'disconnect', reason: 'integrations may only subscribe' };
  }
  const deviceId = identity.deviceId;
  const topic = checkDeviceTopic(deviceId, packet.topic, packet.qos);
  if (!topic.ok) {
    deps.metrics.aclRefusal('publish', topic.code);
    deps.log.warn({ deviceId, code: topic.code, will: options.will }, `mqtt publish refused (${topic.code}): ${topic.reason}; disconnecting`);
    return { action: 'disconnect', reason: topic.reason };
  }
  deps.metrics.messageIn(topic.kind, packet.payload.byteLength);

  if (options.will && !deps.isCurrent(session)) {
    // The device already reconnected: its old session's "offline" will would be a lie.
    deps.log.debug({ deviceId }, 'last will of a replaced session ignored');
    return DROP;
  }
  if (!options.will) {
    const quota = deps.quota.take(deviceId, packet.payload.byteLength, deps.now());
    if (quota.action === 'refuse') {
      deps.metrics.rateLimited(quota.by, 'disconnected');
      deps.log.warn(
        { deviceId, by: quota.by, waitMs: quota.ms, msgsPerS: deps.limits.msgsPerS, bytesPerS: deps.limits.bytesPerS },
        `mqtt publish over the device's rate (${quota.by}): disconnecting without PUBACK; the agent keeps the batch and retries`,
      );
      return { action: 'disconnect', reason: `rate limit exceeded (${quota.by})` };
    }
    if (quota.action === 'wait') {
      deps.metrics.rateLimited(quota.by, 'withheld');
      deps.log.debug({ deviceId, by: quota.by, waitMs: quota.ms }, 'mqtt publish over the device rate: PUBACK withheld');
      const waited = await deps.wait(quota.ms);
      if (!waited || session.closed) return { action: 'disconnect', reason: 'closed while the publish was withheld' };
    }
  }

  const decoded = decodeInbound({ deviceId, topic: packet.topic, kind: topic.kind, payload: packet.payload }, deps.limits, deps.now());
  if (!decoded.ok) {
    await explain(deps, deviceId, decoded.error);
    return DROP;
  }
  const message = decoded.message;
  try {
    if (message.kind === 'telemetry') {
      const typed = await deps.metricTypes.admit(message.payload);
      if (!typed.ok) {
        await explain(deps, deviceId, { v: 1, topic: packet.topic, seq: message.payload.seq, code: typed.code, reason: typed.reason });
        return DROP;
      }
    }
    await deps.inbox.route(message, packet.payload, options.queued);
  } catch (err) {
    deps.log.error({ err, deviceId, kind: topic.kind }, 'accepted publish could not be stored: disconnecting without PUBACK (the agent retries)');
    return { action: 'disconnect', reason: 'storage unavailable' };
  }
  return ACCEPT;
}

async function explain(deps: PublishHookDeps, deviceId: string, error: PublishError): Promise<void> {
  deps.metrics.validationFailure(error.code);
  deps.log.warn({ deviceId, topic: error.topic, code: error.code, seq: error.seq }, `mqtt payload refused (${error.code}): ${error.reason}`);
  try {
    await deps.outbound.publish({ topic: topics.errors(deviceId), payload: encodePayload('PublishError', error), qos: 0, retain: false });
  } catch (err) {
    deps.log.error({ err, deviceId }, 'could not publish the PublishError');
  }
}
