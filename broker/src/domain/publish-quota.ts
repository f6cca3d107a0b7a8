/**
 * Per-device publish quotas (SPEC "Limits": `msgsPerS`, `bytesPerS`). An excess is
 * temporary: the publish waits (its PUBACK is withheld) until the device is back under its
 * rate; only a wait longer than `maxWaitMs` is refused, and then the device is disconnected
 * so its agent keeps the batch and retries with backoff. Pure: time comes in as an argument.
 */
import { TokenBucket } from './token-bucket.js';

export interface QuotaLimits {
  readonly msgsPerS: number;
  readonly bytesPerS: number;
  /** The largest payload: the byte bucket holds at least one, so a big batch is never stuck. */
  readonly maxPayloadBytes: number;
}

export type QuotaDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'wait'; readonly ms: number; readonly by: 'msgs' | 'bytes' }
  | { readonly action: 'refuse'; readonly ms: number; readonly by: 'msgs' | 'bytes' };

interface Buckets {
  readonly msgs: TokenBucket;
  readonly bytes: TokenBucket;
}

export class PublishQuota {
  readonly #limits: QuotaLimits;
  readonly #maxWaitMs: number;
  readonly #buckets = new Map<string, Buckets>();

  constructor(limits: QuotaLimits, maxWaitMs: number) {
    this.#limits = limits;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Reserves one message of `bytes` for `deviceId`; a refused publish reserves nothing. */
  take(deviceId: string, bytes: number, now: number): QuotaDecision {
    const buckets = this.#bucketsOf(deviceId, now);
    const msgWait = buckets.msgs.waitFor(1, now);
    const byteWait = buckets.bytes.waitFor(bytes, now);
    const ms = Math.max(msgWait, byteWait);
    const by = msgWait >= byteWait ? 'msgs' : 'bytes';
    if (ms > this.#maxWaitMs) return { action: 'refuse', ms, by };
    buckets.msgs.reserve(1, now);
    buckets.bytes.reserve(bytes, now);
    return ms === 0 ? { action: 'pass' } : { action: 'wait', ms, by };
  }

  /** Forgets a device whose buckets are full again (called when it disconnects). */
  release(deviceId: string, now: number): void {
    const buckets = this.#buckets.get(deviceId);
    if (buckets !== undefined && buckets.msgs.isFull(now) && buckets.bytes.isFull(now)) this.#buckets.delete(deviceId);
  }

  /** Forgets every device whose buckets are full (run now and then, so idle devices cost nothing). */
  sweep(now: number): void {
    for (const [deviceId, buckets] of this.#buckets) {
      if (buckets.msgs.isFull(now) && buckets.bytes.isFull(now)) this.#buckets.delete(deviceId);
    }
  }

  get tracked(): number {
    return this.#buckets.size;
  }

  #bucketsOf(deviceId: string, now: number): Buckets {
    let buckets = this.#buckets.get(deviceId);
    if (buckets === undefined) {
      const { msgsPerS, bytesPerS, maxPayloadBytes } = this.#limits;
      buckets = {
        msgs: new TokenBucket(msgsPerS, msgsPerS, now),
        bytes: new TokenBucket(bytesPerS, Math.max(bytesPerS, maxPayloadBytes), now),
      };
      this.#buckets.set(deviceId, buckets);
    }
    return buckets;
  }
}
