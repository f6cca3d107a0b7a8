/** Rate of change in units per second of sample time. */
import type { TimedNumber } from './window.js';

/** (to − from) per second; undefined when `to` is not later than `from`. */
export function ratePerSecond(from: TimedNumber, to: TimedNumber): number | undefined {
  const elapsedMs = to.ts - from.ts;
  return elapsedMs > 0 ? ((to.value - from.value) * 1000) / elapsedMs : undefined;
}
