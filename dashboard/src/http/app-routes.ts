import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OutpostError } from '@outpost/protocol';
import type { AppFile, AppFiles } from '../adapters/app-files.js';

/**
 * The paths the single-page app owns: each answers `index.html`, and the app's router draws
 * the page (so a reload or a shared link of `/devices/pi-01` works). `/api/…` and the other
 * listener paths are never among them.
 */
export const APP_PATHS = ['/', '/login', '/alerts', '/rules', '/enrollment', '/users', '/firmware', '/rollouts', '/rollouts/:id', '/devices/:id'] as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';

function send(request: FastifyRequest, reply: FastifyReply, file: AppFile, cacheControl: string): FastifyReply {
  void reply.header('content-type', file.type).header('cache-control', cacheControl);
  if (file.gzip === undefined) return reply.send(file.body);
  void reply.header('vary', 'accept-encoding');
  const accepts = request.headers['accept-encoding'];
  if (typeof accepts === 'string' && /\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

/**
 * Serves the built app on the operator listener: hashed assets under `/assets/` are immutable
 * for a year, `index.html` is revalidated on every load (`no-cache`), so a new build is picked
 * up at the next page load. The platform's page CSP (`script-src 'self'`) applies: the app has
 * no inline script. Before the app is built, its pages answer DASHBOARD_APP_MISSING (503).
 */
export function registerAppRoutes(app: FastifyInstance, files: () => AppFiles | undefined): void {
  const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const built = files();
    if (built === undefined) {
      throw new OutpostError('DASHBOARD_APP_MISSING', 'the web dashboard is not built into this install: run `npm run build` (it runs `vite build` for dashboard/web)');
    }
    return send(request, reply, built.index, 'no-cache');
  };
  for (const path of APP_PATHS) app.get(path, { schema: { hide: true } }, page);

  app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const file = files()?.assets.get(path);
    if (file === undefined) {
      reply.callNotFound();
      return reply;
    }
    return send(request, reply, file, IMMUTABLE);
  });
}
