/**
 * The boundary between the aedes adapter and Outpost's policy: the adapter turns aedes'
 * callbacks into these promise-returning calls (STYLE 12: callbacks adapted in one place),
 * and the hooks never see aedes types.
 */
import type { ConnectRefusal } from '../domain/connect-decision.js';
import type { Identity, PeerCertificate } from '../domain/identity.js';
import type { LiveSession } from './live-sessions.js';

export interface ConnectRequest {
  /** As sent by the client: `''` when empty (aedes would invent one). */
  readonly clientId: string;
  readonly clean: boolean;
  /** The verified client certificate; undefined when there is none. */
  readonly peer: PeerCertificate | undefined;
  readonly remoteAddress: string | undefined;
  /** Makes the session of this connection; call it only to admit the client. */
  open(identity: Identity): LiveSession;
}

export type ConnectVerdict = { readonly ok: true } | { readonly ok: false; readonly refusal: ConnectRefusal };

export interface InboundPacket {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
}

/**
 * `accept`: acknowledge and carry on; `drop`: acknowledge, store nothing, forward nothing;
 * `disconnect`: no acknowledgement, the connection is closed (an ACL violation, or a
 * temporary refusal the agent retries).
 */
export type PublishVerdict = { readonly action: 'accept' } | { readonly action: 'drop' } | { readonly action: 'disconnect'; readonly reason: string };

export type SubscribeVerdict = { readonly ok: true; readonly qos: 0 | 1 } | { readonly ok: false; readonly reason: string };

export interface MqttHooks {
  authenticate(request: ConnectRequest): Promise<ConnectVerdict>;
  /** The CONNACK went out: the session is live. */
  ready(session: LiveSession): void;
  /** The connection of an admitted session closed (for whatever reason). */
  closed(session: LiveSession): void;
  /**
   * `will`: the session's last will, published as it closes. `queued`: called (at most once)
   * when the publish is accepted and stored in order, awaiting only durability — the adapter
   * may then read the client's next publish; the PUBACK still waits for the verdict.
   */
  authorizePublish(session: LiveSession | undefined, packet: InboundPacket, options: { readonly will: boolean; readonly queued?: () => void }): Promise<PublishVerdict>;
  authorizeSubscribe(session: LiveSession | undefined, topic: string, qos: number): SubscribeVerdict;
  /** Topics the session now holds, after a SUBACK. */
  subscribed(session: LiveSession, topics: readonly string[]): void;
  /** One message of `bytes` is on its way to a client. */
  delivered(bytes: number): void;
  clientError(session: LiveSession | undefined, error: Error): void;
}

export interface OutboundMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

/** Publishing from the platform into the broker (to subscribed devices, retained store). */
export interface MqttOutbound {
  publish(message: OutboundMessage): Promise<void>;
}
