import { errorResponses, type AuthPort } from '@outpost/kernel';
import type { FastifyInstance, onResponseAsyncHookHandler } from 'fastify';
import type { QueryMetrics } from '../ports/query-metrics.js';
import type { SeriesResult, TelemetryQueries } from '../services/telemetry-queries.js';
import { DeviceParams, FleetQuery, LatestAnswer, MetricsAnswer, SeriesAnswer, SeriesQuery } from './schemas.js';

export interface TelemetryRouteDeps {
  readonly auth: AuthPort;
  readonly queries: TelemetryQueries;
  /** Read at each request: the platform hands over its metrics registry after the routes exist. */
  readonly metrics: () => QueryMetrics;
}

export const ROUTES = {
  series: '/api/v1/devices/:id/telemetry',
  latest: '/api/v1/devices/:id/latest',
  metrics: '/api/v1/devices/:id/metrics',
  fleet: '/api/v1/fleet/telemetry',
} as const;

function seriesAnswer(metric: string, result: SeriesResult, group?: string): SeriesAnswer {
  return {
    metric,
    ...(group === undefined ? {} : { group }),
    every: result.window.every,
    fn: result.fn,
    from: result.window.from,
    to: result.window.to,
    points: result.points.map((p) => ({ ts: p.ts, value: p.value })),
  };
}

/** The telemetry query routes of SPEC "HTTP API → telemetry", for viewers and up. */
export function registerTelemetryRoutes(app: FastifyInstance, deps: TelemetryRouteDeps): void {
  const { auth, queries } = deps;
  const tags = ['telemetry'];
  const counted =
    (route: string): onResponseAsyncHookHandler =>
    async (_request, reply) => {
      deps.metrics().answered(route, reply.statusCode);
    };

  app.get<{ Params: DeviceParams; Querystring: SeriesQuery }>(
    ROUTES.series,
    {
      onRequest: auth.guard('viewer'),
      onResponse: counted(ROUTES.series),
      schema: {
        tags,
        summary: "A device's metric over time, aggregated per bucket",
        description:
          'Buckets are aligned to multiples of `every` since the epoch; empty buckets are left out. `every` is raised to a round size (1s, 5s, 10s, 30s, 1m, 5m, … 1d) ' +
          'when the range would answer more points than the server allows (2,000 by default); the answer says the one used.',
        params: DeviceParams,
        querystring: SeriesQuery,
        response: { 200: SeriesAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const result = await queries.series(request.params.id, request.query);
      deps.metrics().points(ROUTES.series, result.points.length);
      return seriesAnswer(request.query.metric, result);
    },
  );

  app.get<{ Params: DeviceParams }>(
    ROUTES.latest,
    {
      onRequest: auth.guard('viewer'),
      onResponse: counted(ROUTES.latest),
      schema: { tags, summary: 'The newest value of each metric of a device', params: DeviceParams, response: { 200: LatestAnswer, ...errorResponses } },
    },
    async (request) => {
      const metrics = await queries.latest(request.params.id);
      deps.metrics().points(ROUTES.latest, Object.keys(metrics).length);
      return { deviceId: request.params.id, metrics };
    },
  );

  app.get<{ Params: DeviceParams }>(
    ROUTES.metrics,
    {
      onRequest: auth.guard('viewer'),
      onResponse: counted(ROUTES.metrics),
      schema: { tags, summary: 'The metrics a device has sent, with their types', params: DeviceParams, response: { 200: MetricsAnswer, ...errorResponses } },
    },
    async (request) => {
      const metrics = await queries.metrics(request.params.id);
      deps.metrics().points(ROUTES.metrics, metrics.length);
      return { deviceId: request.params.id, metrics: metrics.map((m) => ({ name: m.name, type: m.type })) };
    },
  );

  app.get<{ Querystring: FleetQuery }>(
    ROUTES.fleet,
    {
      onRequest: auth.guard('viewer'),
      onResponse: counted(ROUTES.fleet),
      schema: {
        tags,
        summary: "A metric over time across the fleet or one group's devices, aggregated per bucket",
        description: 'Like a device series, over every device (or the devices of `group`; a group without devices answers no points).',
        querystring: FleetQuery,
        response: { 200: SeriesAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const result = await queries.fleet(request.query);
      deps.metrics().points(ROUTES.fleet, result.points.length);
      return seriesAnswer(request.query.metric, result, request.query.group);
    },
  );
}
