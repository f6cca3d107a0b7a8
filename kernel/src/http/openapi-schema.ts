/**
 * The OpenAPI keys route schemas carry (`tags`, `summary`, …). The platform registers
 * @fastify/swagger, which declares them; parts do not depend on it, so the kernel declares
 * the same keys with the same types (declarations merge) for every part that imports it.
 */
import type {} from 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    hide?: boolean;
    tags?: readonly string[];
    description?: string;
    summary?: string;
  }
}
