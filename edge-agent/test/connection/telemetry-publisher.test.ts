/**
 * The publisher against a scripted link (the MqttLink port): acks only on PUBACK, bounds what is
 * in flight, reconnects when a PUBACK is withheld and sends everything again in order.
 */
import { describe, expect, it } from 'vitest';
import type { MqttLink, PublishOptions } from '../../src/connection/mqtt-link.js';
import { createPacer } from '../../src/connection/pacer.js';
import { createTelemetryPublisher } from '../../src/connection/telemetry-publisher.js';
import type { OutboxEntry } from '../../src/outbox/outbox-types.js';

class ScriptedLink implements Pick<MqttLink, 'connected' | 'publish' | 'reconnectNow'> {
  connected = true;
  readonly sent: number[] = [];
  readonly waiting: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  reconnects = 0;
  onReconnect: () => void = () => undefined;
  publish(_topic: string, payload: string | Buffer, _options: PublishOptions): Promise<void> {
    const seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
    this.sent.push(seq);
    return new Promise((resolve, reject) => this.waiting.push({ seq, resolve, reject }));
  }
  puback(seq: number): void {
    const i = this.waiting.findIndex((w) => w.seq === seq);
    this.waiting.splice(i, 1)[0]?.resolve();
  }
  reconnectNow(): void {
    this.reconnects += 1;
    for (const w of this.waiting.splice(0)) w.reject(new Error('dropped'));
    this.onReconnect();
  }
}

function memoryOutbox(count: number) {
  const entries: OutboxEntry[] = Array.from({ length: count }, (_, i) => ({ seq: i + 1, payload: Buffer.from(JSON.stringify({ v: 1, seq: i + 1, samples: [] })), createdAt: 0 }));
  const acked: number[] = [];
  return {
    acked,
    entries,
    async peek(max: number) {
      return entries.slice(0, max);
    },
    async ack(seq: number) {
      acked.push(seq);
      const i = entries.findIndex((e) => e.seq === seq);
      if (i !== -1) entries.splice(i, 1);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const log = { warn: () => undefined, debug: () => undefined };

describe('the telemetry publisher', () => {
  it('keeps at most maxInFlight unacknowledged, in seq order, and acks only on PUBACK', async () => {
    const link = new ScriptedLink();
    const outbox = memoryOutbox(6);
    const publisher = createTelemetryPublisher({ outbox, link, topic: () => 'devices/pi-1/telemetry', pacer: createPacer(1000, 1e9, Date.now), maxInFlight: 2, log });
    publisher.wake();
    await tick();
    expect(link.sent).toEqual([1, 2]);
    expect(outbox.acked).toEqual([]);
    link.puback(1);
    await tick();
    expect(outbox.acked).toEqual([1]);
    expect(link.sent).toEqual([1, 2, 3]);
    link.puback(2);
    link.puback(3);
    await tick();
    expect(outbox.acked).toEqual([1, 2, 3]);
    expect(link.sent).toEqual([1, 2, 3, 4, 5]);
    await publisher.close();
  });

  it('reconnects when a PUBACK is withheld and sends the unacknowledged batches again, in order', async () => {
    const link = new ScriptedLink();
    const outbox = memoryOutbox(3);
    const publisher = createTelemetryPublisher({ outbox, link, topic: () => 'devices/pi-1/telemetry', pacer: createPacer(1000, 1e9, Date.now), maxInFlight: 3, ackTimeoutMs: 100, log, onError: () => undefined });
    link.onReconnect = () => publisher.restart();
    publisher.wake();
    await tick();
    link.puback(1);
    // 2 and 3: no PUBACK (the broker withholds it).
    while (link.reconnects === 0) await new Promise((r) => setTimeout(r, 2));
    await tick();
    expect(link.reconnects).toBe(1);
    expect(outbox.acked).toEqual([1]);
    expect(outbox.entries.map((e) => e.seq)).toEqual([2, 3]);
    expect(link.sent.slice(3)).toEqual([2, 3]);
    link.puback(2);
    link.puback(3);
    await tick();
    expect(outbox.acked).toEqual([1, 2, 3]);
    await publisher.close();
  });

  it('sends nothing while offline and everything once connected', async () => {
    const link = new ScriptedLink();
    link.connected = false;
    const outbox = memoryOutbox(2);
    const publisher = createTelemetryPublisher({ outbox, link, topic: () => 'devices/pi-1/telemetry', pacer: createPacer(1000, 1e9, Date.now), log });
    publisher.wake();
    await tick();
    expect(link.sent).toEqual([]);
    link.connected = true;
    publisher.restart();
    await tick();
    expect(link.sent).toEqual([1, 2]);
    await publisher.close();
  });
});
