import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error.js';

/**
 * Pagination cursors are signed (issue 11, D8). Every list route of every part makes its
 * own opaque cursor (the position after the last item); here, at the operator listener, each
 * `nextCursor` going out gets an HMAC over the route and the cursor, and each `cursor` coming
 * in must carry a valid one, which is removed before the route sees it. A damaged, forged or
 * foreign cursor (another list's) answers 400 CURSOR_INVALID instead of silently restarting
 * at page 1 or seeking to a position the server never handed out.
 */
const MAC_CHARS = 22; // 128 bits of base64url

function macOf(key: Buffer, route: string, cursor: string): string {
  return createHmac('sha256', key).update(route).update('\u0000').update(cursor).digest('base64url').slice(0, MAC_CHARS);
}

/** `cursor.mac` for `route`. */
export function signCursor(key: Buffer, route: string, cursor: string): string {
  return `${cursor}.${macOf(key, route, cursor)}`;
}

/** The cursor inside a signed one, or undefined when the signature does not match. */
export function openCursor(key: Buffer, route: string, signed: string): string | undefined {
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const cursor = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  const want = Buffer.from(macOf(key, route, cursor));
  return given.length === want.length && timingSafeEqual(given, want) ? cursor : undefined;
}

/** Signs `nextCursor` in answers and checks `cursor` in queries on every `/api/v1` route. */
export function registerSignedCursors(app: FastifyInstance, key: Buffer): void {
  app.addHook('preValidation', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    const signed = query?.['cursor'];
    if (typeof signed !== 'string' || !request.url.startsWith('/api/v1/')) return;
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    const cursor = openCursor(key, route, signed);
    if (cursor === undefined) {
      throw new ApiError('CURSOR_INVALID', 'the cursor is damaged or was not made for this list: pass nextCursor of the previous page as it was, or leave cursor out to start at the first page');
    }
    (query as Record<string, unknown>)['cursor'] = cursor;
  });
  app.addHook('preSerialization', async (request, _reply, payload: unknown) => {
    if (typeof payload !== 'object' || payload === null || !request.url.startsWith('/api/v1/')) return payload;
    const next = (payload as { nextCursor?: unknown }).nextCursor;
    if (typeof next !== 'string') return payload;
    return { ...payload, nextCursor: signCursor(key, `${request.method} ${request.routeOptions.url ?? ''}`, next) };
  });
}
