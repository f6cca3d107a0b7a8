/** What the rule operators consume: one metric value of one device, with both of its times. */

/** A metric value as a device reports it (TelemetryBatch `metrics`). */
export type SampleValue = number | boolean | string;

export interface RuleSample {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: SampleValue;
  /** Sample time (epoch ms): when the device measured the value. */
  readonly ts: number;
  /** Arrival time (epoch ms): when the platform (or the agent's rule engine) received it. */
  readonly arrivedAt: number;
}
