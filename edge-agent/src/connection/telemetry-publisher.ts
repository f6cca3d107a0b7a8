/**
 * Sends the outbox to `devices/{id}/telemetry`: entries in seq order, QoS 1, at most
 * `maxInFlight` unacknowledged, paced by the platform's rates. An entry leaves the outbox only
 * on its PUBACK (`ack`) or a PublishError naming its seq (`refuse`). A PUBACK that does not come
 * within `ackTimeoutMs` (the broker withholds it while the device is over its rate, or the spool
 * is full) drops the connection: the link reconnects with backoff and everything still in the
 * outbox is sent again, in order.
 */
import type { Outbox, OutboxEntry } from '../outbox/outbox-types.js';
import type { MqttLink } from './mqtt-link.js';
import type { Pacer } from './pacer.js';

export interface PublisherLog {
  warn(o: object, m: string): void;
  debug(o: object, m: string): void;
}

export interface TelemetryPublisherOptions {
  readonly outbox: Pick<Outbox, 'peek' | 'ack'>;
  readonly link: Pick<MqttLink, 'connected' | 'publish' | 'reconnectNow'>;
  readonly topic: () => string;
  readonly pacer: Pacer;
  readonly maxInFlight?: number;
  readonly ackTimeoutMs?: number;
  readonly now?: () => number;
  readonly log: PublisherLog;
  /** Reports an error worth showing in DeviceStatus.lastError. */
  readonly onError?: (code: string, message: string) => void;
}

export interface TelemetryPublisher {
  /** New entries, a new connection: look at the outbox again. */
  wake(): void;
  /** Connection is new: send everything unacknowledged again from the oldest. */
  restart(): void;
  readonly lastSentAt: number | undefined;
  readonly inFlight: number;
  /** Resolves once nothing is in flight (or `timeoutMs` passed). */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createTelemetryPublisher(options: TelemetryPublisherOptions): TelemetryPublisher {
  const maxInFlight = options.maxInFlight ?? 8;
  const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  const now = options.now ?? Date.now;
  const inFlight = new Map<number, NodeJS.Timeout>();
  let highestSent = -1;
  let generation = 0;
  let running = false;
  let again = false;
  let stopped = false;
  let paceTimer: NodeJS.Timeout | undefined;
  let lastSentAt: number | undefined;
  const idleWaiters: (() => void)[] = [];

  function settleIdle(): void {
    if (inFlight.size > 0) return;
    for (const w of idleWaiters.splice(0)) w();
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void pump().finally(() => {
      running = false;
      if (again) {
        again = false;
        wake();
      }
    });
  }

  async function pump(): Promise<void> {
    while (!stopped && options.link.connected && inFlight.size < maxInFlight && paceTimer === undefined) {
      const room = maxInFlight - inFlight.size;
      const entries = (await options.outbox.peek(maxInFlight + inFlight.size + 1)).filter((e) => e.seq > highestSent && !inFlight.has(e.seq));
      if (entries.length === 0) return;
      for (const entry of entries.slice(0, room)) {
        const wait = options.pacer.take(entry.payload.length);
        if (wait > 0) {
          paceTimer = setTimeout(() => {
            paceTimer = undefined;
            wake();
          }, wait);
          return;
        }
        send(entry);
      }
    }
  }

  function send(entry: OutboxEntry): void {
    const gen = generation;
    highestSent = entry.seq;
    const timer = setTimeout(() => {
      if (gen !== generation || !inFlight.has(entry.seq)) return;
      options.log.warn({ seq: entry.seq, ackTimeoutMs }, 'no PUBACK in time; reconnecting to send again');
      options.onError?.('AGENT_PUBACK_TIMEOUT', `no PUBACK for batch ${entry.seq} within ${ackTimeoutMs} ms`);
      options.link.reconnectNow('PUBACK withheld');
    }, ackTimeoutMs);
    inFlight.set(entry.seq, timer);
    options.link.publish(options.topic(), entry.payload, { qos: 1 }).then(
      async () => {
        clearTimeout(timer);
        if (gen === generation) inFlight.delete(entry.seq);
        lastSentAt = now();
        await options.outbox.ack(entry.seq);
        settleIdle();
        wake();
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (gen === generation) inFlight.delete(entry.seq);
        options.log.debug({ seq: entry.seq, err: (err as Error).message }, 'telemetry publish not acknowledged; will send again');
        settleIdle();
      },
    );
  }

  return {
    wake,
    restart(): void {
      generation += 1;
      for (const timer of inFlight.values()) clearTimeout(timer);
      inFlight.clear();
      highestSent = -1;
      settleIdle();
      wake();
    },
    get lastSentAt(): number | undefined {
      return lastSentAt;
    },
    get inFlight(): number {
      return inFlight.size;
    },
    async drain(timeoutMs: number): Promise<void> {
      if (inFlight.size === 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    async close(): Promise<void> {
      stopped = true;
      if (paceTimer !== undefined) clearTimeout(paceTimer);
      for (const timer of inFlight.values()) clearTimeout(timer);
      inFlight.clear();
      settleIdle();
    },
  };
}
