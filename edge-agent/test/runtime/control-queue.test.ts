import { describe, expect, it } from 'vitest';
import type { PublishOptions } from '../../src/connection/mqtt-link.js';
import { createControlQueue } from '../../src/runtime/control-queue.js';

class Link {
  connected = false;
  readonly sent: string[] = [];
  fail = false;
  async publish(_topic: string, payload: string | Buffer, _options: PublishOptions): Promise<void> {
    if (this.fail) throw new Error('offline');
    this.sent.push(payload.toString());
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('the control queue (alerts, reported config, command results)', () => {
  it('holds messages while offline and sends them in order once connected', async () => {
    const link = new Link();
    const queue = createControlQueue(link);
    queue.push({ kind: 'alert', topic: 't', payload: 'a1' });
    queue.push({ kind: 'alert', topic: 't', payload: 'a2' });
    await tick();
    expect(link.sent).toEqual([]);
    expect(queue.size).toBe(2);
    link.connected = true;
    queue.flush();
    await queue.drain(1000);
    expect(link.sent).toEqual(['a1', 'a2']);
    expect(queue.size).toBe(0);
  });

  it('keeps a message whose publish failed for the next connection', async () => {
    const link = new Link();
    link.connected = true;
    link.fail = true;
    const queue = createControlQueue(link);
    queue.push({ kind: 'result', topic: 't', payload: 'r1' });
    await tick();
    expect(queue.size).toBe(1);
    link.fail = false;
    queue.flush();
    await queue.drain(1000);
    expect(link.sent).toEqual(['r1']);
  });

  it('drops the oldest past its bound and counts it', async () => {
    const link = new Link();
    const dropped: string[] = [];
    const queue = createControlQueue(link, { max: 2, onDrop: (m) => dropped.push(m.payload) });
    for (const p of ['1', '2', '3']) queue.push({ kind: 'alert', topic: 't', payload: p });
    expect(dropped).toEqual(['1']);
    expect(queue.dropped).toBe(1);
    link.connected = true;
    queue.flush();
    await queue.drain(1000);
    expect(link.sent).toEqual(['2', '3']);
  });
});
