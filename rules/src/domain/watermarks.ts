/**
 * Per-device watermarks: the newest sample time seen for each device. A transition decided by a
 * sample far behind its device's watermark (or far behind its own arrival) is marked late.
 */
export interface Watermarks {
  /** Records a sample time; idempotent, so several operators may observe the same sample. */
  observe(deviceId: string, ts: number): void;
  /** The newest sample time seen for the device, if any. */
  highest(deviceId: string): number | undefined;
}

export function createWatermarks(): Watermarks {
  // One holder per device whose number field is updated in place: a Map of numbers would box
  // every new sample time (one survivor per evaluation; issue 12, alert p99).
  const highest = new Map<string, Mark>();
  return {
    observe(deviceId, ts) {
      const mark = highest.get(deviceId);
      if (mark === undefined) highest.set(deviceId, new Mark(ts));
      else if (ts > mark.ts) mark.ts = ts;
    },
    highest: (deviceId) => highest.get(deviceId)?.ts,
  };
}

class Mark {
  ts: number;
  constructor(ts: number) {
    this.ts = ts;
  }
}

/**
 * A decision on a sample taken at `ts` is late when `ts` is more than `latenessMs` behind the
 * newer of its device's watermark and its own arrival time: a straggler behind the device's
 * newer data, or a replay of old data (an agent's outbox after a week offline).
 */
export function isLate(ts: number, reference: { readonly watermark?: number; readonly arrivedAt: number }, latenessMs: number): boolean {
  const newest = Math.max(reference.watermark ?? Number.NEGATIVE_INFINITY, reference.arrivedAt);
  return ts < newest - latenessMs;
}
