import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AuthPort } from '@outpost/kernel';
import { registerErrorHandling } from './error-handler.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerSignedCursors } from './signed-cursors.js';

/** Socket timeouts of a listener (issue 11, D1): idle sockets, kept-alive sockets, slow requests. */
export interface ListenerTimeouts {
  /** A connection on which nothing moved for this long is closed. */
  readonly idleMs: number;
  /** A kept-alive connection with no new request for this long is closed. */
  readonly keepAliveMs: number;
  /** A request not received completely within this long is answered 408. */
  readonly requestMs: number;
}

export const DEFAULT_TIMEOUTS: ListenerTimeouts = { idleMs: 20_000, keepAliveMs: 5_000, requestMs: 120_000 };

export interface OperatorAppOptions {
  readonly log: FastifyBaseLogger;
  readonly auth: AuthPort;
  readonly version: string;
  readonly https?: { cert: string; key: string };
  readonly bodyLimit?: number;
  readonly timeouts?: ListenerTimeouts;
  /** Key of the HMAC that signs pagination cursors. */
  readonly cursorKey: Buffer;
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
    connectionTimeout: (options.timeouts ?? DEFAULT_TIMEOUTS).idleMs,
    keepAliveTimeout: (options.timeouts ?? DEFAULT_TIMEOUTS).keepAliveMs,
    requestTimeout: (options.timeouts ?? DEFAULT_TIMEOUTS).requestMs,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true } },
  }) as unknown as FastifyInstance;

  registerErrorHandling(app);
  registerSecurityHeaders(app);
  registerSignedCursors(app, options.cursorKey);

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
