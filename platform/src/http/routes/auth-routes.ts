import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorService } from '../../operators/operator-service.js';
import type { LoginRateLimiter } from '../../operators/login-rate-limiter.js';
import { ApiError } from '../api-error.js';
import { annotateAudit } from '../audit-hook.js';
import type { AuthPort } from '@outpost/kernel';
import { bearerToken } from '../auth-guard.js';
import { EpochMs, errorResponses } from '@outpost/kernel';
import { RoleSchema } from '../schemas.js';

const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

export function registerAuthRoutes(app: FastifyInstance, deps: { operators: OperatorService; auth: AuthPort; limiter: LoginRateLimiter }): void {
  const { operators, auth, limiter } = deps;

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/api/v1/auth/login',
    {
      onRequest: auth.public(),
      schema: {
        tags: ['auth'],
        summary: 'Sign in with a username and password; answers a bearer token',
        body: LoginBody,
        response: { 200: Type.Object({ token: Type.String(), expiresAt: EpochMs, role: RoleSchema }), ...errorResponses },
      },
    },
    async (request) => {
      const { username, password } = request.body;
      annotateAudit(request, { actor: username.slice(0, 64), target: username.slice(0, 64) });
      const verdict = limiter.attempt(request.ip, username);
      if (!verdict.allowed) {
        throw new ApiError('RATE_LIMITED', `too many login attempts from this address; try again in ${verdict.retryAfterS} s`, {
          headers: { 'retry-after': String(verdict.retryAfterS) },
        });
      }
      // Many attempts on this user from everywhere: slowed, never refused (issue 11, D6).
      if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
      const session = await operators.login(username, password);
      if (session === undefined) throw new ApiError('UNAUTHENTICATED', 'wrong username or password');
      limiter.succeeded(request.ip, username);
      return session;
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags: ['auth'], summary: 'End the current session', response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const token = bearerToken(request, false);
      if (token !== undefined) await operators.logout(token);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      onRequest: auth.guard('viewer'),
      schema: {
        tags: ['auth'],
        summary: 'Who the token belongs to',
        response: { 200: Type.Object({ username: Type.String(), role: RoleSchema, via: Type.String() }), ...errorResponses },
      },
    },
    async (request) => {
      const { username, role, via } = auth.principal(request);
      return { username, role, via };
    },
  );

  app.post(
    '/api/v1/auth/stream-token',
    {
      onRequest: auth.guard('viewer'),
      schema: {
        tags: ['auth'],
        summary: 'A short-lived token for ?access_token= on GET /api/v1/live (EventSource cannot send headers)',
        response: { 200: Type.Object({ token: Type.String(), expiresAt: EpochMs }), ...errorResponses },
      },
    },
    async (request) => operators.issueStreamToken(auth.principal(request)),
  );
}
