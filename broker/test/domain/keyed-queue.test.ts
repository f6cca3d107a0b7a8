import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../src/domain/keyed-queue.js';

describe('KeyedQueue', () => {
  it('runs the jobs of one key in order, and goes on after a failure', async () => {
    const errors: unknown[] = [];
    const queue = new KeyedQueue((_key, err) => errors.push(err));
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    void queue.run('a', async () => {
      await gate;
      order.push('a1');
    });
    void queue.run('a', async () => {
      throw new Error('boom');
    });
    void queue.run('a', async () => {
      order.push('a2');
    });
    await queue.run('b', async () => {
      order.push('b1');
    });
    expect(order).toEqual(['b1']);
    release();
    await queue.idle();
    expect(order).toEqual(['b1', 'a1', 'a2']);
    expect(errors).toHaveLength(1);
    expect(queue.pending).toBe(0);
  });
});
