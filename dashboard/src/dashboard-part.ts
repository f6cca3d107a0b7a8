import { requirePort, type Part, type PartDeps, type PartFactory, type Readiness } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';
import { promQueryMetrics } from './adapters/prom-query-metrics.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './domain/query-window.js';
import { registerTelemetryRoutes } from './http/telemetry-routes.js';
import { NO_QUERY_METRICS, type QueryMetrics } from './ports/query-metrics.js';
import { TelemetryQueries } from './services/telemetry-queries.js';

export const PART_NAME = 'dashboard';

export interface DashboardPartOptions {
  /** Point budget, automatic bucket target, longest range, default window, smallest bucket. */
  readonly limits?: Partial<QueryLimits>;
  /** How long a failed query waits for the store's ping before calling it unavailable (default 2 s). */
  readonly pingTimeoutMs?: number;
}

function resolveLimits(overrides: Partial<QueryLimits> = {}): QueryLimits {
  const limits = { ...DEFAULT_QUERY_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new OutpostError('DASHBOARD_OPTIONS_INVALID', `dashboard limits.${key} must be a positive whole number, got ${value}`);
  }
  if (limits.maxPoints < 2) throw new OutpostError('DASHBOARD_OPTIONS_INVALID', `dashboard limits.maxPoints must be at least 2, got ${limits.maxPoints}`);
  return Object.freeze(limits);
}

/**
 * The dashboard as a platform part: the telemetry query API on the operator listener (the
 * single-page app joins it later). It reads the platform's telemetry store and resolves
 * devices and groups through the registry port.
 */
export function createDashboardPart(options: DashboardPartOptions = {}): PartFactory {
  const limits = resolveLimits(options.limits);
  return (deps: PartDeps): Part => {
    const registry = requirePort(deps.ports, 'registry', PART_NAME);
    const store: TelemetryStore | undefined = deps.telemetry;
    let metrics: QueryMetrics = NO_QUERY_METRICS;
    let state: Readiness = 'down';
    const queries = new TelemetryQueries({
      store,
      registry,
      now: () => deps.clock.now(),
      limits,
      pingTimeoutMs: options.pingTimeoutMs ?? 2_000,
      timed: (query, seconds) => metrics.storeLatency(query, seconds),
    });

    return {
      name: PART_NAME,

      routes({ operator }) {
        registerTelemetryRoutes(operator, { auth: deps.auth, queries, metrics: () => metrics });
      },

      metrics(registry) {
        metrics = promQueryMetrics(registry);
      },

      async start() {
        if (store === undefined) deps.log.warn('dashboard: no telemetry store is composed; telemetry queries answer 503');
        state = store === undefined ? 'degraded' : 'ok';
      },

      ready: () => state,

      async close() {
        // The store belongs to the platform, which closes it after the parts.
        state = 'down';
      },
    };
  };
}
