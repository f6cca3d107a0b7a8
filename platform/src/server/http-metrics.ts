import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

/** Request duration by method, route pattern and status, for each listener. */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry, listener: string): void {
  const histogram = new Histogram({
    name: `outpost_${listener}_http_request_duration_seconds`,
    help: `Duration of ${listener} HTTP requests`,
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    histogram.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
