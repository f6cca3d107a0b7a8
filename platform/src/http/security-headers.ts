import type { FastifyInstance } from 'fastify';

/**
 * Response headers every answer of the operator and device listeners carries (issue 11, D8):
 * no MIME sniffing; API answers (tokens, users, devices) are never stored by a cache; HTML
 * pages (the API docs, the dashboard) may not be framed and may load only from this origin.
 * A route that sets its own `cache-control` (the live stream) keeps it.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Swagger UI sets style attributes from its scripts.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    const path = request.url.split('?')[0] ?? request.url;
    if (!reply.hasHeader('cache-control') && (path.startsWith('/api/v1/') || path.startsWith('/device/v1/'))) void reply.header('cache-control', 'no-store');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      void reply.header('x-frame-options', 'DENY');
      void reply.header('content-security-policy', PAGE_CSP);
    }
    return payload;
  });
}
