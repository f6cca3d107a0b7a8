/**
 * What the runtime needs from the data path (outbox, collectors, processing), as injected
 * functions, so the runtime can be wired with the real ones in main.ts and tests stay honest.
 */
import type { Observable } from 'rxjs';
import type { Collector, EdgeAlert, Limits, Processing, Rule, TelemetrySample } from '@outpost/protocol';
import type { Outbox } from '../outbox/outbox-types.js';
import type { BatchEvent } from '../processing/batch-samples.js';

export interface PipelineSpec {
  readonly collectors: readonly Collector[];
  readonly processing?: Processing;
  readonly rules?: readonly Rule[];
  readonly limits: Limits;
}

export interface RunningPipeline {
  /** Each sample as it joins the open batch, each cut: what the runtime stages and seals in the outbox. */
  readonly events: Observable<BatchEvent>;
  readonly batches: Observable<readonly TelemetrySample[]>;
  readonly alerts: Observable<EdgeAlert>;
  collectNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineLog {
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface DataPath {
  openOutbox(options: { dir: string; maxBytes?: number; dropWarnIntervalMs?: number; log?: PipelineLog }): Promise<Outbox>;
  createPipeline(config: PipelineSpec, deps: { log: PipelineLog }): RunningPipeline;
  validatePipelineConfig(config: unknown): { ok: true; value: PipelineSpec } | { ok: false; reason: string };
}
