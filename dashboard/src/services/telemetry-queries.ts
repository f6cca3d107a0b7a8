import { OutpostError, RESERVED_NAMES } from '@outpost/protocol';
import type { AggregateFn, LatestValue, MetricInfo, SeriesPoint, TelemetryStore } from '@outpost/telemetry';
import type { RegistryPort } from '@outpost/kernel';
import { resolveWindow, type QueryLimits, type QueryWindow } from '../domain/query-window.js';
import { parseTimeParam } from '../domain/time-param.js';
import { storeFailure } from './store-errors.js';

/** A series request after schema validation (names already match protocol's patterns). */
export interface SeriesRequest {
  readonly metric: string;
  readonly from?: string;
  readonly to?: string;
  readonly every?: string;
  readonly fn?: AggregateFn;
}

/** The store methods the routes call. */
export type StoreQuery = 'range' | 'fleet' | 'latest' | 'metrics';

export interface SeriesResult {
  readonly window: QueryWindow;
  readonly fn: AggregateFn;
  readonly points: SeriesPoint[];
}

export interface TelemetryQueriesDeps {
  /** Absent while the platform composes no store: every query is then `TELEMETRY_STORE_UNAVAILABLE`. */
  readonly store: TelemetryStore | undefined;
  readonly registry: RegistryPort;
  readonly now: () => number;
  readonly limits: QueryLimits;
  readonly pingTimeoutMs: number;
  /** Called with the seconds each store call took, by store method. */
  readonly timed: (query: StoreQuery, seconds: number) => void;
}

/**
 * The telemetry read side the routes serve: resolves and checks the window, answers 404 for a
 * device the registry does not know, resolves a group to its devices, and asks the store.
 */
export class TelemetryQueries {
  readonly #deps: TelemetryQueriesDeps;

  constructor(deps: TelemetryQueriesDeps) {
    this.#deps = deps;
  }

  async series(deviceId: string, request: SeriesRequest): Promise<SeriesResult> {
    const { window, fn } = this.#prepare(request);
    await this.#requireDevice(deviceId);
    const points = await this.#ask('range', (store) => store.range({ deviceId, metric: request.metric, from: window.from, to: window.to, everyMs: window.everyMs, fn }));
    return { window, fn, points };
  }

  async fleet(request: SeriesRequest & { readonly group?: string }): Promise<SeriesResult> {
    const { window, fn } = this.#prepare(request);
    let deviceIds: string[] | undefined;
    if (request.group !== undefined) {
      deviceIds = await this.#deps.registry.deviceIds({ group: request.group });
      // A group without devices has no telemetry; an empty list must not read as "every device".
      if (deviceIds.length === 0) return { window, fn, points: [] };
    }
    const query = { metric: request.metric, from: window.from, to: window.to, everyMs: window.everyMs, fn, ...(deviceIds === undefined ? {} : { deviceIds }) };
    const points = await this.#ask('fleet', (store) => store.fleet(query));
    return { window, fn, points };
  }

  async latest(deviceId: string): Promise<Record<string, LatestValue>> {
    await this.#requireDevice(deviceId);
    return this.#ask('latest', (store) => store.latest(deviceId));
  }

  async metrics(deviceId: string): Promise<MetricInfo[]> {
    await this.#requireDevice(deviceId);
    return this.#ask('metrics', (store) => store.metrics(deviceId));
  }

  #prepare(request: SeriesRequest): { window: QueryWindow; fn: AggregateFn } {
    if (RESERVED_NAMES.includes(request.metric)) {
      const message = `metric "${request.metric}" is a reserved name (${RESERVED_NAMES.join(', ')}), never a metric`;
      throw new OutpostError('NAME_RESERVED', message, { details: [{ path: 'querystring/metric', message }] });
    }
    const from = parseTimeParam('from', request.from);
    const to = parseTimeParam('to', request.to);
    const window = resolveWindow(
      { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), ...(request.every === undefined ? {} : { every: request.every }) },
      this.#deps.now(),
      this.#deps.limits,
    );
    return { window, fn: request.fn ?? 'mean' };
  }

  async #requireDevice(deviceId: string): Promise<void> {
    if ((await this.#deps.registry.lookup(deviceId)) === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
  }

  async #ask<T>(name: StoreQuery, query: (store: TelemetryStore) => Promise<T>): Promise<T> {
    const { store, pingTimeoutMs, timed } = this.#deps;
    if (store === undefined) throw new OutpostError('TELEMETRY_STORE_UNAVAILABLE', 'no telemetry store is configured on this server', { status: 503 });
    const started = performance.now();
    try {
      return await query(store);
    } catch (err) {
      throw await storeFailure(err, store, pingTimeoutMs);
    } finally {
      timed(name, (performance.now() - started) / 1_000);
    }
  }
}
