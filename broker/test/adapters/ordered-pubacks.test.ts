import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { OrderedPubacks } from '../../src/adapters/ordered-pubacks.js';

/** The packet ids of the PUBACKs written so far. */
function pubacksOf(conn: PassThrough): number[] {
  const bytes = (conn.read() as Buffer | null) ?? Buffer.alloc(0);
  const ids: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    expect([bytes[i], bytes[i + 1]]).toEqual([0x40, 0x02]);
    ids.push(bytes.readUInt16BE(i + 2));
  }
  return ids;
}

describe('OrderedPubacks', () => {
  it('holds a PUBACK back until every earlier publish of the client is acknowledged, then writes them together in order', async () => {
    const conn = new PassThrough();
    const acks = new OrderedPubacks({ conn, closed: false });
    const [a, b, c] = [acks.reserve(7), acks.reserve(8), acks.reserve(9)];
    c.ack();
    b.ack();
    await nextTurn();
    expect(pubacksOf(conn)).toEqual([]);
    expect(acks.pending).toBe(3);
    a.ack();
    await nextTurn();
    expect(pubacksOf(conn)).toEqual([7, 8, 9]);
    expect(acks.pending).toBe(0);
  });

  it('writes no PUBACK for a refused publish nor for any later one (the connection is closing)', async () => {
    const conn = new PassThrough();
    const acks = new OrderedPubacks({ conn, closed: false });
    const [a, b, c] = [acks.reserve(1), acks.reserve(2), acks.reserve(3)];
    a.ack();
    c.ack();
    b.fail();
    await nextTurn();
    expect(pubacksOf(conn)).toEqual([1]);
    acks.reserve(4).ack();
    await nextTurn();
    expect(pubacksOf(conn)).toEqual([]);
  });
});
