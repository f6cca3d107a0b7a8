import type { MetricType } from '@outpost/protocol';

/** Where fleet-wide metric types are kept (the state database). */
export interface MetricTypeStore {
  load(): Promise<(readonly [string, MetricType])[]>;
  /** Records new metrics; a name already stored keeps its type. */
  add(entries: readonly (readonly [string, MetricType])[], at: number): Promise<void>;
}
