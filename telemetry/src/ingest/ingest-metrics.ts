/** Prometheus metrics of the ingest pipeline and the telemetry store (`outpost_ingest_*`, `outpost_telemetry_*`). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TelemetryStore } from '../store/telemetry-store.js';
import { INGEST_CONSUMER, type IngestPipeline, type IngestSpoolReader } from './ingest-pipeline.js';

export interface IngestMetricSources {
  readonly pipeline: () => IngestPipeline | undefined;
  readonly store: () => TelemetryStore | undefined;
  readonly spool: () => IngestSpoolReader | undefined;
  readonly now: () => number;
}

export function registerIngestMetrics(registry: Registry, sources: IngestMetricSources): (pipeline: IngestPipeline) => void {
  const writeSeconds = new Histogram({
    name: 'outpost_telemetry_write_seconds',
    help: 'Time of one ingest write to the telemetry store, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const fromPipeline = (name: string, help: string, read: (stats: ReturnType<IngestPipeline['stats']>) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = sources.pipeline()?.stats();
        if (stats === undefined) return;
        this.reset();
        this.inc(read(stats));
      },
    });
  };
  fromPipeline('outpost_ingest_points_total', 'Points the ingest pipeline wrote to the telemetry store', (s) => s.points);
  fromPipeline('outpost_ingest_batches_total', 'Store writes the ingest pipeline completed', (s) => s.batches);
  fromPipeline('outpost_ingest_retries_total', 'Failed store writes the ingest pipeline retried', (s) => s.retries);
  fromPipeline('outpost_ingest_dead_letters_total', 'Points the telemetry store refused for good (in the dead-letter file)', (s) => s.deadLettered);
  fromPipeline('outpost_ingest_undecodable_total', 'Spooled records that did not decode (skipped, logged)', (s) => s.undecodable);
  new Gauge({
    name: 'outpost_ingest_spool_age_seconds',
    help: 'Age of the oldest spooled batch not yet written to the telemetry store (0 when caught up)',
    registers: [registry],
    collect() {
      let oldest: number | undefined;
      try {
        oldest = sources.spool()?.stats().consumers[INGEST_CONSUMER]?.oldestUnconsumedAt;
      } catch {
        return; // the spool is not open (broker not started)
      }
      this.set(oldest === undefined ? 0 : Math.max(0, (sources.now() - oldest) / 1000));
    },
  });
  new Gauge({
    name: 'outpost_telemetry_store_up',
    help: '1 while ingest writes to the telemetry store succeed, 0 while they fail',
    registers: [registry],
    collect() {
      this.set(sources.pipeline()?.stats().failingSince === undefined ? 1 : 0);
    },
  });
  // The InfluxDB rollup (ADR 0008), when the store keeps one.
  new Gauge({
    name: 'outpost_telemetry_rollup_lag_seconds',
    help: 'How far the InfluxDB rollup watermark is behind now (whole minutes before it are rolled up; about the settle time plus a minute when caught up)',
    registers: [registry],
    collect() {
      const coveredTo = sources.store()?.stats().rollup?.coveredTo;
      if (coveredTo === undefined) return;
      this.set(Math.max(0, (sources.now() - coveredTo) / 1000));
    },
  });
  new Counter({
    name: 'outpost_telemetry_rollup_minutes_total',
    help: 'InfluxDB rollup minutes by how they were made: from the tallies of the points written (tally), recomputed from raw points although tallied (recomputed), left to the recompute of a write under way (deferred)',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      const rollup = sources.store()?.stats().rollup;
      if (rollup === undefined) return;
      this.reset();
      this.inc({ source: 'tally' }, rollup.talliedMinutes);
      this.inc({ source: 'recomputed' }, rollup.recountedMinutes);
      this.inc({ source: 'deferred' }, rollup.deferredMinutes);
    },
  });
  new Counter({
    name: 'outpost_telemetry_rollup_late_recomputes_total',
    help: 'InfluxDB rollup recomputes of late minutes (points older than the watermark; a backlog\'s writes share them)',
    registers: [registry],
    collect() {
      const rollup = sources.store()?.stats().rollup;
      if (rollup === undefined) return;
      this.reset();
      this.inc(rollup.lateRecomputes);
    },
  });
  return (pipeline) =>
    pipeline.onWrite((observation) => {
      writeSeconds.observe({ outcome: observation.ok ? 'ok' : 'failed' }, observation.seconds);
    });
}
