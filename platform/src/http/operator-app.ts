import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AuthPort } from './auth-guard.js';
import { registerErrorHandling } from './error-handler.js';

export interface OperatorAppOptions {
  readonly log: FastifyBaseLogger;
  readonly auth: AuthPort;
  readonly version: string;
  readonly https?: { cert: string; key: string };
  readonly bodyLimit?: number;
}

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

const registeredRoutes = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on an operator app, in registration order. */
export function routesOf(app: FastifyInstance): readonly RouteEntry[] {
  return registeredRoutes.get(app) ?? [];
}

/**
 * The operator listener's fastify instance, not yet listening: strict schemas
 * (unknown body fields are refused, not stripped), coded errors, OpenAPI at
 * `/api/openapi.json`, docs at `/api/docs`. Every `/api/v1` route must carry a guard.
 */
export async function buildOperatorApp(options: OperatorAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log,
    ...(options.https === undefined ? {} : { https: options.https }),
    bodyLimit: options.bodyLimit ?? 1_048_576,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true } },
  }) as unknown as FastifyInstance;

  registerErrorHandling(app);

  const routes: RouteEntry[] = [];
  registeredRoutes.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method: String(method), url: route.url });
    if (!route.url.startsWith('/api/v1')) return;
    const hooks = Array.isArray(route.onRequest) ? route.onRequest : route.onRequest === undefined ? [] : [route.onRequest];
    if (!hooks.some((h) => options.auth.isGuard(h))) {
      throw new Error(`route ${String(route.method)} ${route.url} has no auth guard: add onRequest: auth.guard(role) or auth.public()`);
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Outpost operator API',
        version: options.version,
        description: 'Devices, telemetry, alerts, OTA and platform administration. Errors are {code, message, details?}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
