/**
 * Runs one pipeline at a time and swaps it without a restart: a new config builds a new
 * pipeline first (a config it cannot build never replaces the running one), then the old one is
 * stopped (its last batch still reaches the outbox) and the new one subscribed. The outbox is
 * shared and never reopened.
 *
 * Each sample goes on (`onSample`) as it joins the open batch and each cut (`onBatch`) as it
 * happens, synchronously and in order: the runtime stages the sample in the outbox at once and
 * seals the batch on the cut (ADR 0006), so nothing waits in memory for its batch.
 */
import type { Subscription } from 'rxjs';
import type { EdgeAlert, TelemetrySample } from '@outpost/protocol';
import type { DataPath, PipelineLog, PipelineSpec, RunningPipeline } from './pipeline-port.js';

export interface PipelineHostDeps {
  readonly dataPath: Pick<DataPath, 'createPipeline' | 'validatePipelineConfig'>;
  readonly log: PipelineLog;
  onSample(sample: TelemetrySample): void;
  onBatch(samples: readonly TelemetrySample[]): void;
  onAlert(alert: EdgeAlert): void;
  onError(err: unknown): void;
}

export interface PipelineHost {
  /** Validates and builds `spec`; on success the new pipeline runs. Answers the refusal otherwise. */
  apply(spec: PipelineSpec): Promise<{ ok: true } | { ok: false; code: string; reason: string }>;
  collectNow(): Promise<void>;
  stop(): Promise<void>;
}

export function createPipelineHost(deps: PipelineHostDeps): PipelineHost {
  let current: { pipeline: RunningPipeline; subscriptions: Subscription[] } | undefined;

  async function stopCurrent(): Promise<void> {
    const running = current;
    current = undefined;
    if (running === undefined) return;
    try {
      await running.pipeline.stop();
    } finally {
      for (const s of running.subscriptions) s.unsubscribe();
    }
  }

  return {
    async apply(spec) {
      const checked = deps.dataPath.validatePipelineConfig(spec);
      if (!checked.ok) return { ok: false, code: 'CONFIG_INVALID', reason: checked.reason };
      let pipeline: RunningPipeline;
      try {
        pipeline = deps.dataPath.createPipeline(checked.value, { log: deps.log });
      } catch (err) {
        const e = err as { code?: unknown; message?: unknown };
        return { ok: false, code: typeof e.code === 'string' ? e.code : 'CONFIG_UNUSABLE', reason: String(e.message ?? err) };
      }
      await stopCurrent();
      const subscriptions = [
        pipeline.events.subscribe({
          next: (event) => (event.kind === 'sample' ? deps.onSample(event.sample) : deps.onBatch(event.samples)),
          error: deps.onError,
        }),
        pipeline.alerts.subscribe({ next: (alert) => deps.onAlert(alert), error: deps.onError }),
      ];
      current = { pipeline, subscriptions };
      return { ok: true };
    },
    async collectNow() {
      await current?.pipeline.collectNow();
    },
    stop: stopCurrent,
  };
}
