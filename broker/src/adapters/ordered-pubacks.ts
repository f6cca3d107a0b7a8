/**
 * One client's QoS 1 PUBACKs, in the order its PUBLISHes arrived (MQTT 4.6.0-2), written by
 * Outpost instead of aedes. This is what lets the broker pipeline a client's publishes: aedes
 * reads the next socket chunk only once every publish of the current one is done, so the
 * adapter lets aedes go on as soon as a batch has its place in the spool, and the PUBACK
 * leaves here when the batch is durable — never before an earlier one of the same client.
 * After a refused publish (the connection is closing) no later PUBACK is written.
 */
import type { Writable } from 'node:stream';

interface Slot {
  readonly messageId: number;
  state: 'pending' | 'ready' | 'failed';
}

export interface PubackSlot {
  /** The publish may be acknowledged (accepted and durable, or acknowledged and dropped). */
  ack(): void;
  /** The publish is refused: no PUBACK for it or any later publish of the client. */
  fail(): void;
}

export class OrderedPubacks {
  readonly #slots: Slot[] = [];
  readonly #out: { readonly conn: Writable; readonly closed: boolean };
  #broken = false;
  /** Packet ids whose PUBACK may go, written together on the next turn of the event loop. */
  #ready: number[] = [];
  #scheduled = false;

  constructor(client: { readonly conn: Writable; readonly closed: boolean }) {
    this.#out = client;
  }

  /** PUBACKs waiting for their publish or for an earlier one. */
  get pending(): number {
    return this.#slots.length;
  }

  /** Takes the next place in the order; call in arrival order. */
  reserve(messageId: number): PubackSlot {
    const slot: Slot = { messageId, state: 'pending' };
    this.#slots.push(slot);
    return {
      ack: () => this.#settle(slot, 'ready'),
      fail: () => this.#settle(slot, 'failed'),
    };
  }

  #settle(slot: Slot, state: 'ready' | 'failed'): void {
    if (slot.state !== 'pending') return;
    slot.state = state;
    while (this.#slots[0] !== undefined && this.#slots[0].state !== 'pending') {
      const head = this.#slots.shift() as Slot;
      if (head.state === 'failed') this.#broken = true;
      if (!this.#broken) this.#ready.push(head.messageId);
    }
    if (this.#ready.length === 0 || this.#scheduled) return;
    // A group commit makes many publishes durable in one turn: their PUBACKs leave in one write (one TLS record).
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const ids = this.#ready;
    this.#ready = [];
    if (ids.length === 0 || this.#out.closed || this.#out.conn.destroyed) return;
    // PUBACK: fixed header 0x40, remaining length 2, the packet id (valid for MQTT 3.1.1 and 5: success, no properties).
    const bytes = Buffer.allocUnsafe(4 * ids.length);
    ids.forEach((id, i) => {
      bytes[i * 4] = 0x40;
      bytes[i * 4 + 1] = 0x02;
      bytes.writeUInt16BE(id, i * 4 + 2);
    });
    this.#out.conn.write(bytes);
  }
}
