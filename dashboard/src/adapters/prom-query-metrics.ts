import { Counter, Histogram, type Registry } from 'prom-client';
import type { QueryMetrics } from '../ports/query-metrics.js';

/** Outcome label of a status: `ok`, `invalid` (4xx but 404), `not_found`, `unavailable` (503), `error`. */
function outcomeOf(status: number): string {
  if (status < 400) return 'ok';
  if (status === 404) return 'not_found';
  if (status === 503) return 'unavailable';
  if (status < 500) return 'invalid';
  return 'error';
}

/** The query routes' counters and histograms, registered in the platform's registry. */
export function promQueryMetrics(registry: Registry): QueryMetrics {
  const queries = new Counter({
    name: 'outpost_telemetry_queries_total',
    help: 'Telemetry query requests by route and outcome (ok, invalid, not_found, unavailable, error)',
    labelNames: ['route', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'outpost_telemetry_query_duration_seconds',
    help: 'Time the telemetry store took to answer a query, by store query (range, fleet, latest, metrics)',
    labelNames: ['query'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const points = new Histogram({
    name: 'outpost_telemetry_query_points',
    help: 'Points (or metrics) one telemetry answer carried, by route',
    labelNames: ['route'] as const,
    buckets: [0, 10, 100, 500, 1_000, 2_000, 5_000],
    registers: [registry],
  });
  return {
    answered: (route, status) => queries.inc({ route, outcome: outcomeOf(status) }),
    storeLatency: (query, seconds) => latency.observe({ query }, seconds),
    points: (route, count) => points.observe({ route }, count),
  };
}
