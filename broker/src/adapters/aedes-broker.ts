/**
 * aedes behind Outpost's hooks. aedes takes any duplex stream, so TLS is the listener's
 * business (tls-listener.ts); here aedes' callback hooks become the promise-returning
 * MqttHooks, and each admitted client becomes a LiveSession.
 */
import type { Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Identity, PeerCertificate } from '../domain/identity.js';
import type { LiveSession } from '../ports/live-sessions.js';
import type { MqttHooks, MqttOutbound, OutboundMessage } from '../ports/mqtt-hooks.js';
import { OrderedPubacks } from './ordered-pubacks.js';

export interface AedesBrokerOptions {
  /** A connection that sends no CONNECT within this long is closed. */
  readonly connectTimeoutMs: number;
  /** Reads the verified client certificate of a connection. */
  readonly peerOf: (connection: Duplex) => PeerCertificate | undefined;
  readonly remoteAddressOf: (connection: Duplex) => string | undefined;
  readonly now: () => number;
  /** Most of a client's QoS 1 publishes read ahead while earlier ones await their fsync (PUBACKs stay in order); default 64. */
  readonly maxPipelinedPublishes?: number;
  /** Cluster mode (issue 15): aedes' emitter and persistence on Redis; default in memory. */
  readonly mq?: unknown;
  readonly persistence?: unknown;
}

export interface AedesBroker extends MqttOutbound {
  handle(connection: Duplex): void;
  /** Delivers to the client with this id if it is connected to this node (not through the emitter); false when it is not. */
  publishToClient(clientId: string, message: OutboundMessage): Promise<boolean>;
  readonly connectedClients: number;
  close(): Promise<void>;
}

type AedesClient = Client & { subscriptions?: Record<string, unknown> };

class AedesSession implements LiveSession {
  readonly identity: Identity;
  readonly clientId: string;
  readonly connectedAt: number;
  readonly #client: AedesClient;
  #closeReason: string | undefined;
  #closeCode: string | undefined;

  constructor(client: AedesClient, identity: Identity, clientId: string, connectedAt: number) {
    this.#client = client;
    this.identity = identity;
    this.clientId = clientId;
    this.connectedAt = connectedAt;
  }

  get closed(): boolean {
    return this.#client.closed;
  }

  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  get closeCode(): string | undefined {
    return this.#closeCode;
  }

  close(reason: string, code = 'broker'): void {
    if (this.#closeReason === undefined) {
      this.#closeReason = reason;
      this.#closeCode = code;
    }
    this.#client.close();
  }

  isSubscribed(topic: string): boolean {
    return this.#client.subscriptions?.[topic] !== undefined;
  }
}

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function createAedesBroker(hooks: MqttHooks, options: AedesBrokerOptions): Promise<AedesBroker> {
  const sessions = new WeakMap<Client, AedesSession>();
  const connects = new WeakMap<Client, { clientId: string; clean: boolean }>();
  const dropped = new WeakSet<Buffer>();
  const pubacks = new WeakMap<Client, OrderedPubacks>();

  const aedes = await Aedes.createBroker({
    connectTimeout: options.connectTimeoutMs,
    ...(options.mq === undefined ? {} : { mq: options.mq }),
    ...(options.persistence === undefined ? {} : { persistence: options.persistence }),
    preConnect(client, packet, callback) {
      connects.set(client, { clientId: packet.clientId, clean: packet.clean !== false });
      callback(null, true);
    },
    authenticate(client, _username, _password, done) {
      const connect = connects.get(client) ?? { clientId: client.id, clean: client.clean };
      hooks
        .authenticate({
          clientId: connect.clientId,
          clean: connect.clean,
          peer: options.peerOf(client.conn),
          remoteAddress: options.remoteAddressOf(client.conn),
          open: (identity) => {
            const session = new AedesSession(client as AedesClient, identity, connect.clientId, options.now());
            sessions.set(client, session);
            return session;
          },
        })
        .then(
          (verdict) => (verdict.ok ? done(null, true) : done(authError(verdict.refusal.returnCode, verdict.refusal.message), false)),
          (err: unknown) => done(authError(3, err instanceof Error ? err.message : 'authentication failed'), false),
        );
    },
    authorizePublish(client, packet, callback) {
      const session = client === null ? undefined : sessions.get(client);
      const inbound = { topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), qos: packet.qos, retain: packet.retain };
      const will = client === null || client.closed;
      const markDropped = (): void => {
        packet.payload = inbound.payload;
        dropped.add(inbound.payload);
      };
      if (will || session === undefined || packet.qos !== 1) {
        hooks.authorizePublish(session, inbound, { will }).then(
          (verdict) => {
            if (verdict.action === 'disconnect') return callback(new Error(verdict.reason));
            // Device data is never retained by the broker: no client may subscribe to it.
            packet.retain = false;
            if (verdict.action === 'drop') markDropped();
            callback(null);
          },
          (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
        );
        return;
      }
      // QoS 1 of a live session: the PUBACK leaves from the client's ordered queue (aedes is told
      // QoS 0 so it sends none), and aedes may read the next publish once this one is queued in
      // the spool — unless too many of the client's PUBACKs are pending already (backpressure).
      let acks = pubacks.get(client);
      if (acks === undefined) {
        acks = new OrderedPubacks(client);
        pubacks.set(client, acks);
      }
      const pipelined = acks.pending < (options.maxPipelinedPublishes ?? 64);
      const slot = acks.reserve(packet.messageId ?? 0);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        packet.qos = 0;
        packet.retain = false;
        callback(null);
      };
      const refuse = (reason: string): void => {
        slot.fail();
        if (!released) {
          released = true;
          callback(new Error(reason));
        } else session.close(reason);
      };
      hooks.authorizePublish(session, inbound, { will: false, ...(pipelined ? { queued: release } : {}) }).then(
        (verdict) => {
          if (verdict.action === 'disconnect') return refuse(verdict.reason);
          if (verdict.action === 'drop') markDropped();
          release();
          slot.ack();
        },
        (err: unknown) => refuse(err instanceof Error ? err.message : String(err)),
      );
    },
    authorizeSubscribe(client, subscription, callback) {
      const verdict = hooks.authorizeSubscribe(sessions.get(client), subscription.topic, subscription.qos);
      if (!verdict.ok) return callback(new Error(verdict.reason));
      callback(null, { ...subscription, qos: verdict.qos });
    },
    authorizeForward(_client, packet: AedesPublishPacket) {
      if (dropped.has(packet.payload as Buffer)) return null;
      hooks.delivered(packet.payload.length);
      return packet;
    },
  });

  aedes.on('clientReady', (client) => {
    const session = sessions.get(client);
    if (session !== undefined) hooks.ready(session);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    const session = sessions.get(client);
    if (session !== undefined) hooks.subscribed(session, subscriptions.filter((s) => (s.qos as number) !== 128).map((s) => s.topic));
  });
  aedes.on('clientError', (client, error) => hooks.clientError(sessions.get(client), error));
  aedes.on('connectionError', (client, error) => hooks.clientError(sessions.get(client), error));

  return {
    handle(connection) {
      const client = aedes.handle(connection);
      connection.once('close', () => {
        const session = sessions.get(client);
        if (session !== undefined) hooks.closed(session);
      });
    },
    get connectedClients() {
      return aedes.connectedClients;
    },
    publishToClient(clientId: string, message: OutboundMessage) {
      const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
      if (client === undefined || client.closed) return Promise.resolve(false);
      const payload = typeof message.payload === 'string' ? Buffer.from(message.payload, 'utf8') : message.payload;
      return new Promise<boolean>((resolve, reject) => {
        client.publish({ cmd: 'publish', topic: message.topic, payload, qos: message.qos, retain: false, dup: false }, (err) => (err ? reject(err) : resolve(true)));
      });
    },
    publish(message: OutboundMessage) {
      const packet: PublishPacket = {
        cmd: 'publish',
        topic: message.topic,
        payload: typeof message.payload === 'string' ? Buffer.from(message.payload, 'utf8') : message.payload,
        qos: message.qos,
        retain: message.retain,
        dup: false,
      };
      return new Promise<void>((resolve, reject) => {
        aedes.publish(packet, (err) => (err ? reject(err) : resolve()));
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => resolve());
      }),
  };
}
