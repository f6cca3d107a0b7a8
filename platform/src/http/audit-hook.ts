import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import { principalOf } from './auth-guard.js';
import { errorCodeOf } from './error-handler.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Trailing path words that name an action rather than a collection (POST …/suspend).
const VERBS = new Set(['login', 'logout', 'stream-token', 'rotate', 'retire', 'test', 'ack', 'suspend', 'resume', 'revoke', 'pause', 'abort', 'retry']);

interface Annotation {
  action?: string;
  target?: string;
  actor?: string;
}

const annotations = new WeakMap<FastifyRequest, Annotation>();

/** Lets a handler name the target it created (or the actor, for login) before the hook writes the entry. */
export function annotateAudit(request: FastifyRequest, annotation: Annotation): void {
  annotations.set(request, { ...annotations.get(request), ...annotation });
}

/**
 * `POST /api/v1/users` → `users.create`; `PATCH /users/:name` → `users.update`;
 * `POST /devices/:id/suspend` → `devices.suspend`; `POST /auth/login` → `auth.login`.
 */
export function deriveAction(method: string, routeUrl: string): string {
  const parts = routeUrl.replace(/^\/api\/v1\//, '').split('/').filter((p) => p.length > 0);
  const literals = parts.filter((p) => !p.startsWith(':'));
  const last = parts[parts.length - 1] ?? '';
  const previous = parts[parts.length - 2] ?? '';
  const base = literals.join('.');
  if (method === 'POST') {
    if (VERBS.has(last) || (previous.startsWith(':') && !last.startsWith(':'))) return base;
    return `${base}.create`;
  }
  if (method === 'DELETE') return `${base}.delete`;
  return `${base}.update`;
}

function targetFromParams(params: unknown): string | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  const values = Object.values(params as Record<string, unknown>).filter((v): v is string => typeof v === 'string');
  return values.length > 0 ? values.join('/') : undefined;
}

/** Writes one audit entry for every mutating call on `/api/`, whatever its outcome. */
export function registerAuditHook(app: FastifyInstance, audit: AuditLog, log: FastifyBaseLogger): void {
  app.addHook('onResponse', async (request, reply) => {
    const routeUrl = request.routeOptions.url;
    if (!MUTATING.has(request.method) || routeUrl === undefined || !routeUrl.startsWith('/api/')) return;
    const note = annotations.get(request) ?? {};
    const principal = principalOf(request);
    const status = reply.statusCode;
    const errorCode = errorCodeOf(request);
    try {
      await audit.record({
        actor: principal?.username ?? note.actor ?? 'anonymous',
        action: note.action ?? deriveAction(request.method, routeUrl),
        target: note.target ?? targetFromParams(request.params) ?? null,
        outcome: status < 400 ? 'success' : 'failure',
        status,
        ...(errorCode === undefined ? {} : { errorCode }),
        ip: request.ip,
      });
    } catch (err) {
      log.error({ err, method: request.method, url: routeUrl }, 'audit: could not record an operator action');
    }
  });
}
