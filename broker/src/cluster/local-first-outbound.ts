/**
 * Cluster mode (issue 15): a command for a device connected to this node goes straight to its
 * client, not through the Redis emitter — the emitter is at most once (a publish made while its
 * subscriber connection is re-subscribing after a Redis restart is gone), and the registry marks
 * a command delivered once the broker took it. Retained messages (DesiredConfig, TrustSet,
 * OtaJob) still go through aedes' publish: they must reach the retained store in Redis, and the
 * holding node re-sends the desired config on every resync.
 */
import { parseTopic } from '@outpost/protocol';
import type { MqttOutbound, OutboundMessage } from '../ports/mqtt-hooks.js';

export interface LocalFirstTargets {
  /** aedes' publish (emitter and retained store). */
  publish(message: OutboundMessage): Promise<void>;
  /** Delivers to the client with this id if it is connected here; false when it is not. */
  publishToClient(clientId: string, message: OutboundMessage): Promise<boolean>;
}

export function localFirstOutbound(targets: LocalFirstTargets): MqttOutbound {
  return {
    async publish(message) {
      if (!message.retain) {
        const parsed = parseTopic(message.topic);
        // A device's client id is its device id (the connect check enforces it).
        if (parsed.ok && parsed.value.scope === 'device' && parsed.value.kind === 'commands' && (await targets.publishToClient(parsed.value.deviceId, message))) return;
      }
      await targets.publish(message);
    },
  };
}
