/**
 * Bounds on device downloads (issue 13 item 3): at most `maxConcurrent` in flight (more are
 * refused with 503 and Retry-After, so agents back off instead of piling up), and optionally
 * at most `bytesPerS` per device, paced as the response streams.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class DownloadGate {
  readonly maxConcurrent: number;
  #inFlight = 0;

  constructor(maxConcurrent: number) {
    this.maxConcurrent = maxConcurrent;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A slot, or undefined when every slot is taken; call the returned release once. */
  acquire(): (() => void) | undefined {
    if (this.#inFlight >= this.maxConcurrent) return undefined;
    this.#inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
    };
  }
}

/** Passes bytes through at no more than `bytesPerS` (a token bucket of one second). */
export function pace(bytesPerS: number, now: () => number = Date.now): Transform {
  let allowance = bytesPerS;
  let last = now();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const t = now();
      allowance = Math.min(bytesPerS, allowance + ((t - last) / 1000) * bytesPerS);
      last = t;
      allowance -= chunk.length;
      if (allowance >= 0) return callback(null, chunk);
      const waitMs = Math.ceil((-allowance / bytesPerS) * 1000);
      setTimeout(() => callback(null, chunk), waitMs).unref();
    },
  });
}
