/**
 * The device's MQTT connection (SPEC "MQTT"): mTLS with the enrolled certificate, client id =
 * device id, clean session false, the offline last will, our own reconnect loop with
 * exponential backoff and jitter.
 *
 * Duplicates vs loss: each connection attempt uses a fresh mqtt.js client whose in-memory
 * store dies with the connection, so mqtt.js never resends on its own. The outbox is the only
 * store of unacknowledged telemetry: a batch leaves it only on PUBACK, and after a reconnect the
 * publisher sends again everything still in it. A batch whose PUBACK was lost is therefore sent
 * twice (the platform is idempotent on replays); a batch is never lost.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { OutpostError, statusLastWill, topics } from '@outpost/protocol';
import type { DeviceIdentity } from '../identity/state-dir.js';
import { createBackoff } from './backoff.js';
import type { Backoff } from './backoff.js';

export interface LinkLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  debug(o: object, m: string): void;
}

export interface MqttLinkOptions {
  readonly identity: () => DeviceIdentity;
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  readonly connectTimeoutMs?: number;
  readonly keepaliveS?: number;
  readonly random?: () => number;
  readonly log: LinkLog;
  /** Called after every CONNACK, once the subscriptions are in place. */
  readonly onConnected: () => void;
  readonly onDisconnected: (reason: string) => void;
  /** Called when an attempt ends without a session (connectFailure() says how far it got). */
  readonly onConnectFailed?: (failure: ConnectFailure) => void;
  readonly onMessage: (topic: string, payload: Buffer) => void;
}

/**
 * A connection attempt that ended before the session was up. `reachedBroker`: TCP and the TLS
 * handshake completed, so the broker answered and the MQTT session itself was refused or failed;
 * false: the broker was never reached (refused, timed out, DNS, host or network unreachable).
 */
export interface ConnectFailure {
  readonly reachedBroker: boolean;
  readonly reason: string;
  readonly code?: string;
}

export interface PublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
}

export interface MqttLink {
  start(): void;
  readonly connected: boolean;
  /** Resolves on PUBACK (QoS 1) or once written (QoS 0); rejects AGENT_OFFLINE when not connected or when the connection drops first. */
  publish(topic: string, payload: string | Buffer, options: PublishOptions): Promise<void>;
  /** Drops the current connection and connects again at once (a renewed certificate, a withheld PUBACK). */
  reconnectNow(reason: string): void;
  setReconnect(bounds: { minMs: number; maxMs: number }): void;
  /** Publishes `offline` (a graceful stop sends no last will), disconnects and stops reconnecting. */
  close(offlinePayload?: string): Promise<void>;
}

function offline(reason: string): OutpostError {
  return new OutpostError('AGENT_OFFLINE', reason);
}

export function createMqttLink(options: MqttLinkOptions): MqttLink {
  let backoff: Backoff = createBackoff({ ...options.reconnect, random: options.random });
  let client: MqttClient | undefined;
  let isConnected = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const pending = new Set<(err: Error) => void>();

  function failPending(reason: string): void {
    for (const reject of [...pending]) reject(offline(reason));
    pending.clear();
  }

  function schedule(delayMs: number): void {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      connectOnce();
    }, delayMs);
  }

  function connectOnce(): void {
    if (stopped) return;
    const identity = options.identity();
    const will = statusLastWill(identity.deviceId);
    const url = new URL(identity.mqttUrl);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const c = mqtt.connect(identity.mqttUrl, {
      protocolVersion: 4,
      clientId: identity.deviceId,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs ?? 15_000,
      keepalive: options.keepaliveS ?? 30,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt.js otherwise pre-builds a Buffer for every packet id (65,536 of them, ~7 MB of RSS)
      // on the first write; a device sending a batch now and then encodes them as it goes.
      writeCache: false,
      ca: identity.caPem,
      cert: identity.certPem,
      key: identity.keyPem,
      rejectUnauthorized: true,
      servername: /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: will.qos, retain: will.retain },
    });
    client = c;
    let lastError = 'connection closed';
    let lastCode: string | undefined;
    let tlsDone = false;
    (c.stream as unknown as NodeJS.EventEmitter | undefined)?.once('secureConnect', () => {
      tlsDone = true;
    });
    c.on('error', (err) => {
      lastError = err.message;
      const code = (err as { code?: unknown }).code;
      lastCode = code === undefined ? undefined : String(code);
      options.log.debug({ err: err.message }, 'mqtt error');
    });
    c.on('message', (topic, payload) => options.onMessage(topic, payload));
    c.on('connect', () => {
      void subscribe(c, identity.deviceId);
    });
    c.on('close', () => {
      if (client !== c) return;
      client = undefined;
      const was = isConnected;
      isConnected = false;
      failPending(lastError);
      c.end(true);
      if (was) options.onDisconnected(lastError);
      else options.onConnectFailed?.({ reachedBroker: tlsDone, reason: lastError, ...(lastCode === undefined ? {} : { code: lastCode }) });
      if (stopped) return;
      const wait = backoff.next();
      options.log.info({ waitMs: wait, attempt: backoff.attempts, reason: lastError }, 'mqtt disconnected; reconnecting');
      schedule(wait);
    });
  }

  async function subscribe(c: MqttClient, deviceId: string): Promise<void> {
    try {
      await c.subscribeAsync({
        [topics.configDesired(deviceId)]: { qos: 1 },
        [topics.trust(deviceId)]: { qos: 1 },
        [topics.errors(deviceId)]: { qos: 0 },
        [topics.commands(deviceId)]: { qos: 1 },
        [topics.otaJob(deviceId)]: { qos: 1 },
      });
    } catch (err) {
      options.log.warn({ err: (err as Error).message }, 'mqtt subscribe failed; reconnecting');
      c.end(true);
      return;
    }
    if (client !== c) return;
    isConnected = true;
    backoff.reset();
    options.log.info({ url: options.identity().mqttUrl }, 'mqtt connected');
    options.onConnected();
  }

  return {
    start(): void {
      if (client === undefined && timer === undefined) connectOnce();
    },
    get connected(): boolean {
      return isConnected;
    },
    publish(topic, payload, publishOptions): Promise<void> {
      const c = client;
      if (c === undefined || !isConnected) return Promise.reject(offline('not connected'));
      return new Promise<void>((resolve, reject) => {
        const settle = (err?: Error): void => {
          if (!pending.delete(fail)) return;
          if (err === undefined) resolve();
          else reject(err);
        };
        const fail = (err: Error): void => reject(err);
        pending.add(fail);
        c.publish(topic, payload, { qos: publishOptions.qos, retain: publishOptions.retain ?? false }, (err) => settle(err ?? undefined));
      });
    },
    reconnectNow(reason): void {
      options.log.info({ reason }, 'mqtt reconnecting now');
      backoff.reset();
      const c = client;
      if (c !== undefined) {
        client = undefined;
        const was = isConnected;
        isConnected = false;
        failPending(reason);
        c.end(true);
        if (was) options.onDisconnected(reason);
      }
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      connectOnce();
    },
    setReconnect(bounds): void {
      backoff = createBackoff({ ...bounds, random: options.random });
    },
    async close(offlinePayload): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const c = client;
      client = undefined;
      if (c === undefined) return;
      if (isConnected && offlinePayload !== undefined) {
        try {
          await Promise.race([
            c.publishAsync(topics.status(options.identity().deviceId), offlinePayload, { qos: 1, retain: true }),
            new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
          ]);
        } catch {
          // Going away anyway; the broker records offline when the session closes.
        }
      }
      isConnected = false;
      failPending('agent stopping');
      await c.endAsync();
    },
  };
}
