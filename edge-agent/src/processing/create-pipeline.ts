/**
 * The agent's data path from collectors to the outbox:
 *
 * ```
 * collectors (one timer each) ─► metric checks ─► raw samples ─┬─► window? ─► deadband? ─► batch events ─► (outbox)
 *                                                              └─► local rules ─► alerts
 * ```
 *
 * Time comes from the injected scheduler (timers, windows, batch age, absence rules) and `now`
 * (sample timestamps; default the scheduler's clock), so tests run in virtual time.
 *
 * Collection starts with the first subscription to `batches` or `alerts` (subscribe to both
 * before the scheduler runs: a stream not yet subscribed misses what was emitted meanwhile) and
 * runs until `stop()`. Each collector samples at once and then every `intervalMs`; a collection
 * still running when the next is due is skipped and counted (a slow command never piles up).
 * Batches hold at most `processing.batch.maxSamples` samples and wait at most `maxAgeMs`
 * (default: `limits.maxSamples` and 1 s), always clamped to the server's Limits: samples,
 * metrics per sample, and payload bytes (the smaller of `maxPayloadBytes` and `bytesPerS`, so a
 * batch can always pass the rate limit). `events` tells each sample as it joins the open batch
 * and each cut (the agent stages every sample in its outbox at once: ADR 0006); `batches` is the
 * cuts alone.
 */
import { OutpostError } from '@outpost/protocol';
import type { EdgeAlert, MetricValue, TelemetrySample } from '@outpost/protocol';
import { asyncScheduler, defer, filter, map, share, Subject, takeUntil, tap, timer } from 'rxjs';
import type { Observable, Subscription } from 'rxjs';
import { createCollector } from '../collectors/create-collector.js';
import type { CollectorSource } from '../collectors/collector-source.js';
import { batchEvents } from './batch-samples.js';
import type { BatchEvent } from './batch-samples.js';
import { deadband } from './deadband.js';
import { localAlerts } from './local-rules.js';
import type { Pipeline, PipelineConfig, PipelineDeps, PipelineStats } from './pipeline-types.js';
import { sanitizeSample } from './sanitize-sample.js';
import { tumblingWindow } from './tumbling-window.js';

export const DEFAULT_BATCH_MAX_AGE_MS = 1000;

interface Running {
  readonly source: CollectorSource;
  /** Collections under way (a scheduled one, and any `collectNow`). */
  readonly inFlight: Set<Promise<void>>;
}

export function createPipeline(config: PipelineConfig, deps: PipelineDeps = {}): Pipeline {
  const scheduler = deps.scheduler ?? asyncScheduler;
  const now = deps.now ?? (() => scheduler.now());
  const log = deps.log;
  const collectorDeps = {
    ...(deps.sysRoot === undefined ? {} : { sysRoot: deps.sysRoot }),
    ...(deps.procRoot === undefined ? {} : { procRoot: deps.procRoot }),
    ...(deps.diskPath === undefined ? {} : { diskPath: deps.diskPath }),
    ...(log === undefined ? {} : { log }),
  };
  const collectors: Running[] = config.collectors.map((collector) => ({ source: createCollector(collector, collectorDeps), inFlight: new Set<Promise<void>>() }));
  const raw$ = new Subject<TelemetrySample>();
  const stop$ = new Subject<void>();
  const ticks: Subscription[] = [];
  const counts = { samples: 0, batches: 0, alerts: 0, rejectedMetrics: 0, skippedCollections: 0 };
  let started = false;
  let stopping: Promise<void> | undefined;
  let stopped = false;

  const report = (problem: string): void => {
    counts.rejectedMetrics += 1;
    log?.warn({ problem }, `pipeline: ${problem}`);
  };

  const accept = (ts: number, metrics: Readonly<Record<string, MetricValue>>): void => {
    if (stopped) return;
    const { sample, problems } = sanitizeSample(ts, metrics);
    for (const problem of problems) report(`${problem}; metric left out`);
    if (sample === undefined) return;
    counts.samples += 1;
    raw$.next(sample);
  };

  /** One collection; resolves when its sample entered the pipeline. Never rejects. */
  const collectOnce = (running: Running): Promise<void> => {
    const ts = now();
    let result;
    try {
      result = running.source.collect(ts);
    } catch (error) {
      log?.error({ err: error, collector: running.source.type }, 'pipeline: a collector failed');
      return Promise.resolve();
    }
    if (!(result instanceof Promise)) {
      accept(ts, result);
      return Promise.resolve();
    }
    const done = result.then(
      (metrics) => accept(ts, metrics),
      (error: unknown) => log?.error({ err: error, collector: running.source.type }, 'pipeline: a collector failed'),
    );
    running.inFlight.add(done);
    void done.then(() => running.inFlight.delete(done));
    return done;
  };

  const start = (): void => {
    if (started || stopping !== undefined) return;
    started = true;
    for (const running of collectors) {
      ticks.push(
        timer(0, running.source.intervalMs, scheduler).subscribe(() => {
          if (running.inFlight.size > 0) {
            counts.skippedCollections += 1;
            return;
          }
          void collectOnce(running);
        }),
      );
    }
  };

  const limits = config.limits;
  const batchConfig = config.processing?.batch;
  const window = config.processing?.window;
  const bands = config.processing?.deadband;
  let processed$: Observable<TelemetrySample> = raw$;
  if (window !== undefined) processed$ = processed$.pipe(tumblingWindow(window.ms, window.fn, scheduler));
  if (bands !== undefined) processed$ = processed$.pipe(deadband(bands));
  const events: Observable<BatchEvent> = defer(() => {
    start();
    return processed$;
  }).pipe(
    batchEvents(
      {
        maxSamples: Math.min(batchConfig?.maxSamples ?? limits.maxSamples, limits.maxSamples),
        maxAgeMs: batchConfig?.maxAgeMs ?? DEFAULT_BATCH_MAX_AGE_MS,
        maxMetrics: limits.maxMetrics,
        maxPayloadBytes: Math.min(limits.maxPayloadBytes, limits.bytesPerS),
      },
      scheduler,
      report,
    ),
    tap((event) => {
      if (event.kind === 'batch') counts.batches += 1;
    }),
    share(),
  );
  const batches = events.pipe(
    filter((event): event is Extract<BatchEvent, { kind: 'batch' }> => event.kind === 'batch'),
    map((event) => event.samples),
  );
  const alerts: Observable<EdgeAlert> = defer(() => {
    start();
    return raw$.pipe(localAlerts(config.rules ?? [], scheduler, now), takeUntil(stop$));
  }).pipe(
    tap(() => (counts.alerts += 1)),
    share(),
  );

  return {
    events,
    batches,
    alerts,
    async collectNow(): Promise<void> {
      if (stopping !== undefined) throw new OutpostError('PIPELINE_STOPPED', 'the pipeline is stopped', { status: 409 });
      if (!started) throw new OutpostError('PIPELINE_NOT_STARTED', 'subscribe to the pipeline before collecting', { status: 409 });
      await Promise.all(collectors.map((running) => collectOnce(running)));
    },
    stop(): Promise<void> {
      stopping ??= (() => {
        for (const tick of ticks.splice(0)) tick.unsubscribe();
        const finish = (): void => {
          stopped = true;
          raw$.complete();
          stop$.next();
          stop$.complete();
          for (const running of collectors) running.source.close();
        };
        // Collections under way still deliver (a command is bounded by its timeoutMs); with
        // none, the streams complete synchronously (virtual time sees it at once).
        const pending = collectors.flatMap((running) => [...running.inFlight]);
        if (pending.length === 0) {
          finish();
          return Promise.resolve();
        }
        return Promise.all(pending).then(finish);
      })();
      return stopping;
    },
    stats(): PipelineStats {
      return {
        ...counts,
        collectors: collectors.map((running) => ({ type: running.source.type, ...running.source.stats() })),
      };
    },
  };
}
