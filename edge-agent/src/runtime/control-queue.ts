/**
 * Control messages the agent owes the platform (EdgeAlerts, ReportedConfig, CommandResults):
 * kept in order in memory while offline and sent on the next connection; one leaves the queue
 * on its PUBACK. Bounded: past `max` the oldest is dropped and counted (logged by the caller).
 */
import type { MqttLink } from '../connection/mqtt-link.js';

export interface ControlMessage {
  readonly topic: string;
  readonly payload: string;
  readonly kind: string;
  /** Runs once the message's PUBACK came (OTA marks an outcome reported). */
  readonly onSent?: () => void;
}

export interface ControlQueue {
  push(message: ControlMessage): void;
  flush(): void;
  readonly size: number;
  readonly dropped: number;
  /** Resolves once the queue is empty or `timeoutMs` passed. */
  drain(timeoutMs: number): Promise<void>;
}

export function createControlQueue(link: Pick<MqttLink, 'connected' | 'publish'>, options: { max?: number; onDrop?: (m: ControlMessage) => void } = {}): ControlQueue {
  const max = options.max ?? 10_000;
  const queue: ControlMessage[] = [];
  let sending = false;
  let again = false;
  let dropped = 0;
  const waiters: (() => void)[] = [];

  function settle(): void {
    if (queue.length === 0) for (const w of waiters.splice(0)) w();
  }

  async function send(): Promise<void> {
    while (link.connected && queue.length > 0) {
      const head = queue[0];
      if (head === undefined) break;
      try {
        await link.publish(head.topic, head.payload, { qos: 1 });
      } catch {
        return; // offline: the next connection flushes again
      }
      if (queue[0] === head) queue.shift();
      head.onSent?.();
      settle();
    }
  }

  function flush(): void {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    void send().finally(() => {
      sending = false;
      if (again) {
        again = false;
        flush();
      }
    });
  }

  return {
    push(message): void {
      queue.push(message);
      while (queue.length > max) {
        const gone = queue.shift();
        dropped += 1;
        if (gone !== undefined) options.onDrop?.(gone);
      }
      flush();
    },
    flush,
    get size(): number {
      return queue.length;
    },
    get dropped(): number {
      return dropped;
    },
    async drain(timeoutMs: number): Promise<void> {
      if (queue.length === 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
