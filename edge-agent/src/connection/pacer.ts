/**
 * Paces publishes under the platform's rate limits (msgsPerS, bytesPerS) so a replay after a
 * reconnect never floods the broker: two token buckets, each holding at most one second.
 */
export interface Pacer {
  /** Milliseconds to wait before a message of `bytes` may go; 0 = now (and the tokens are taken). */
  take(bytes: number): number;
  setRates(msgsPerS: number, bytesPerS: number): void;
}

export function createPacer(msgsPerS: number, bytesPerS: number, now: () => number): Pacer {
  let rates = { msgs: msgsPerS, bytes: bytesPerS };
  let msgs = rates.msgs;
  let bytesLeft = rates.bytes;
  let at = now();
  function refill(): void {
    const t = now();
    const dt = Math.max(0, t - at) / 1000;
    at = t;
    msgs = Math.min(rates.msgs, msgs + dt * rates.msgs);
    bytesLeft = Math.min(rates.bytes, bytesLeft + dt * rates.bytes);
  }
  return {
    take(bytes: number): number {
      refill();
      // A message larger than a second's budget goes once the bucket is full, so it is never stuck.
      const need = Math.min(bytes, rates.bytes);
      if (msgs >= 1 && bytesLeft >= need) {
        msgs -= 1;
        bytesLeft -= need;
        return 0;
      }
      const waitMsgs = msgs >= 1 ? 0 : ((1 - msgs) / rates.msgs) * 1000;
      const waitBytes = bytesLeft >= need ? 0 : ((need - bytesLeft) / rates.bytes) * 1000;
      return Math.max(1, Math.ceil(Math.max(waitMsgs, waitBytes)));
    },
    setRates(m: number, b: number): void {
      refill();
      rates = { msgs: m, bytes: b };
      msgs = Math.min(msgs, m);
      bytesLeft = Math.min(bytesLeft, b);
    },
  };
}
