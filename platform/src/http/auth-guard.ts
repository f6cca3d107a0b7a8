import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { OperatorService } from '../operators/operator-service.js';
import { roleAtLeast, type AuthPort, type Principal } from '@outpost/kernel';
import { ApiError } from './api-error.js';

const principals = new WeakMap<FastifyRequest, Principal>();

export function bearerToken(request: FastifyRequest, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    return m?.[1];
  }
  if (allowQuery) {
    const query = request.query as Record<string, unknown> | undefined;
    const token = query?.['access_token'];
    if (typeof token === 'string' && token.length > 0) return token;
  }
  return undefined;
}

export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}

export function createAuth(operators: OperatorService): AuthPort {
  const guards = new WeakSet<object>();

  const guard: AuthPort['guard'] = (role, options = {}) => {
    const hook: onRequestAsyncHookHandler = async (request) => {
      const token = bearerToken(request, options.allowStreamToken === true);
      if (token === undefined) {
        throw new ApiError('UNAUTHENTICATED', 'authentication required: send "Authorization: Bearer <token>" (get one from POST /api/v1/auth/login)', {
          headers: { 'www-authenticate': 'Bearer' },
        });
      }
      const principal = await operators.authenticate(token);
      if (principal === undefined) {
        throw new ApiError('UNAUTHENTICATED', 'the token is unknown, expired or revoked', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
      }
      if (principal.via === 'stream' && options.allowStreamToken !== true) {
        throw new ApiError('UNAUTHENTICATED', 'a stream token only opens the live stream');
      }
      principals.set(request, principal);
      if (!roleAtLeast(principal.role, role)) {
        throw new ApiError('FORBIDDEN', `this needs the ${role} role; ${principal.username} has ${principal.role}`);
      }
    };
    guards.add(hook);
    return hook;
  };

  const open: onRequestAsyncHookHandler = async () => {};
  guards.add(open);

  return {
    guard,
    public: () => open,
    principal(request) {
      const principal = principals.get(request);
      if (principal === undefined) throw new ApiError('UNAUTHENTICATED', 'authentication required');
      return principal;
    },
    isGuard: (hook) => typeof hook === 'function' && guards.has(hook),
  };
}
