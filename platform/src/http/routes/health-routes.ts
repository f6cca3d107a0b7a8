import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';
import type { Readiness } from '@outpost/kernel';
import { ApiError } from '../api-error.js';

export interface HealthSource {
  /** Each part's readiness; `down` for parts not started (or stopping). */
  readiness(): Record<string, Readiness>;
  /** Why parts are not ok, where known (e.g. the state database unreachable); shown by /readyz. */
  reasons?(): Record<string, string>;
}

const Health = Type.Object({ status: Type.Literal('ok') });
const Ready = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  parts: Type.Record(Type.String(), Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')])),
  reasons: Type.Optional(Type.Record(Type.String(), Type.String())),
});

/** Summarises parts: down if any is down, else degraded if any is, else ok. */
export function overallReadiness(parts: Record<string, Readiness>): Readiness {
  const states = Object.values(parts);
  if (states.includes('down')) return 'down';
  if (states.includes('degraded')) return 'degraded';
  return 'ok';
}

export function registerHealthRoutes(app: FastifyInstance, deps: { health: HealthSource; registry: Registry; metricsToken?: string }): void {
  const expected = deps.metricsToken === undefined ? undefined : createHash('sha256').update(deps.metricsToken).digest();
  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 when every part is ok or degraded (and which), 503 when one is down',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const parts = deps.health.readiness();
      const status = overallReadiness(parts);
      const reasons = deps.health.reasons?.() ?? {};
      return reply.status(status === 'down' ? 503 : 200).send({ status, parts, ...(Object.keys(reasons).length === 0 ? {} : { reasons }) });
    },
  );

  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics (a bearer token when OUTPOST_METRICS_TOKEN is set)', produces: ['text/plain'] } }, async (request, reply) => {
    if (expected !== undefined) {
      const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '')?.[1];
      // Compared as hashes: equal lengths, constant time.
      if (given === undefined || !timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
        throw new ApiError('UNAUTHENTICATED', '/metrics needs "Authorization: Bearer <OUTPOST_METRICS_TOKEN>"', { headers: { 'www-authenticate': 'Bearer realm="metrics"' } });
      }
    }
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });
}
