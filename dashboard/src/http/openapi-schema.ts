/**
 * The OpenAPI keys route schemas carry (`tags`, `summary`, …). The platform registers
 * @fastify/swagger, which declares them; this part does not depend on it, so it declares the
 * same keys with the same types (declarations merge).
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
