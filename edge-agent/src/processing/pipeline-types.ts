/** The pipeline's contract with the agent's runtime (see create-pipeline.ts). */
import type { Collector, EdgeAlert, Limits, Processing, Rule, TelemetrySample } from '@outpost/protocol';
import type { Observable, SchedulerLike } from 'rxjs';
import type { BatchEvent } from './batch-samples.js';

export interface PipelineConfig {
  readonly collectors: readonly Collector[];
  readonly processing?: Processing;
  readonly rules?: readonly Rule[];
  readonly limits: Limits;
}

export interface PipelineDeps {
  readonly scheduler?: SchedulerLike;
  readonly now?: () => number;
  readonly log?: { warn(o: object, m: string): void; error(o: object, m: string): void };
  readonly sysRoot?: string;
  readonly procRoot?: string;
  /** The file system `disk.used_percent` reports on; default `/`. */
  readonly diskPath?: string;
}

export interface PipelineStats {
  /** Samples that entered the pipeline (after the metric checks). */
  readonly samples: number;
  readonly batches: number;
  readonly alerts: number;
  /** Metrics taken out because the broker would refuse them (bad name or value, too large). */
  readonly rejectedMetrics: number;
  /** Scheduled collections skipped because the previous one of that collector was still running. */
  readonly skippedCollections: number;
  /** Problems of each collector (in config order): unreadable sources, bad output, timeouts. */
  readonly collectors: readonly { readonly type: Collector['type']; readonly errors: number; readonly lastError?: string }[];
}

export interface Pipeline {
  /**
   * Each sample as it joins the open batch, and each cut of the open batch (with its samples):
   * what the outbox stages and seals. Subscribe to this or to `batches` (both share one run).
   */
  readonly events: Observable<BatchEvent>;
  /** Batches ready for the outbox (each within limits): the cuts of `events`. */
  readonly batches: Observable<readonly TelemetrySample[]>;
  /** EdgeAlert payloads from local rules. */
  readonly alerts: Observable<EdgeAlert>;
  /** Sample every collector now (the `collect-now` command); resolves when the samples entered the pipeline. */
  collectNow(): Promise<void>;
  /** Emits pending partial batches and windows, then completes the streams. */
  stop(): Promise<void>;
  /** Counters for DeviceStatus and `outpost-agent status`. */
  stats?(): PipelineStats;
}
