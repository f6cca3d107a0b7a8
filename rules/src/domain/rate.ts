/** Rate of change in units per second of sample time. */

/** (toValue − fromValue) per second; undefined when `toTs` is not later than `fromTs`. Plain numbers: windows and signals keep no point objects. */
export function ratePerSecondOf(fromTs: number, fromValue: number, toTs: number, toValue: number): number | undefined {
  const elapsedMs = toTs - fromTs;
  return elapsedMs > 0 ? ((toValue - fromValue) * 1000) / elapsedMs : undefined;
}
