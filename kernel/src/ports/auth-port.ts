import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Principal } from './principal.js';
import type { Role } from './roles.js';

/**
 * Route guards by role, provided by the platform. Every route under `/api/v1` must carry
 * exactly one guard (`guard(role)` or `public()`); the operator app refuses to register a
 * route without one, so nothing is ever open by accident.
 */
export interface AuthPort {
  guard(role: Role, options?: { allowStreamToken?: boolean }): onRequestAsyncHookHandler;
  public(): onRequestAsyncHookHandler;
  principal(request: FastifyRequest): Principal;
  isGuard(hook: unknown): boolean;
}
