import { requirePort, type Part, type PartDeps, type PartFactory, type Readiness } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';
import { DEFAULT_APP_DIR, loadAppFiles, type AppFiles } from './adapters/app-files.js';
import { promQueryMetrics } from './adapters/prom-query-metrics.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './domain/query-window.js';
import { registerAppRoutes } from './http/app-routes.js';
import { registerTelemetryRoutes } from './http/telemetry-routes.js';
import { NO_QUERY_METRICS, type QueryMetrics } from './ports/query-metrics.js';
import { TelemetryQueries } from './services/telemetry-queries.js';

export const PART_NAME = 'dashboard';

export interface DashboardPartOptions {
  /** Point budget, automatic bucket target, longest range, default window, smallest bucket. */
  readonly limits?: Partial<QueryLimits>;
  /** How long a failed query waits for the store's ping before calling it unavailable (default 2 s). */
  readonly pingTimeoutMs?: number;
  /** The built web app (`vite build` output; default `dist/web` of this package). */
  readonly appDir?: string;
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
 * The dashboard as a platform part: the web app at `/` and the telemetry query API on the
 * operator listener. It reads the platform's telemetry store and resolves devices and groups
 * through the registry port.
 */
export function createDashboardPart(options: DashboardPartOptions = {}): PartFactory {
  const limits = resolveLimits(options.limits);
  return (deps: PartDeps): Part => {
    const registry = requirePort(deps.ports, 'registry', PART_NAME);
    const store: TelemetryStore | undefined = deps.telemetry;
    let metrics: QueryMetrics = NO_QUERY_METRICS;
    let state: Readiness = 'down';
    let app: AppFiles | undefined;
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
        registerAppRoutes(operator, () => app);
      },

      metrics(registry) {
        metrics = promQueryMetrics(registry);
      },

      async start() {
        app = await loadAppFiles(options.appDir ?? DEFAULT_APP_DIR);
        if (app === undefined) deps.log.warn({ appDir: options.appDir ?? DEFAULT_APP_DIR }, 'dashboard: the web app is not built (npm run build); / answers 503');
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
