/**
 * The demo calls the platform's own REST API in-process (fastify `inject`, no socket), as the
 * admin with a short-lived API token: so every step is validated and audited exactly as if an
 * operator had made it.
 */
import { OutpostError } from '@outpost/protocol';
import type { FastifyInstance } from 'fastify';

export interface DemoApi {
  /** Answers the status and the parsed body. */
  call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Like `call`, but anything but 2xx is a `DEMO_API_FAILED` error. */
  ok<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** POSTs a body that is not JSON (a multipart firmware upload); anything but 2xx is `DEMO_API_FAILED`. */
  post<T>(path: string, contentType: string, payload: Buffer): Promise<T>;
}

export function createDemoApi(app: FastifyInstance, token: string): DemoApi {
  const call = async <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await app.inject({
      method,
      url: `/api/v1${path}`,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: (res.body === '' ? undefined : JSON.parse(res.body)) as T };
  };
  const failed = (method: string, path: string, status: number, body: unknown): OutpostError => {
    const detail = body as { code?: string; message?: string } | undefined;
    return new OutpostError('DEMO_API_FAILED', `${method} /api/v1${path} answered ${status}: ${detail?.code ?? ''} ${detail?.message ?? ''}`.trim(), { details: body });
  };
  return {
    call,
    async post<T>(path: string, contentType: string, payload: Buffer): Promise<T> {
      const res = await app.inject({ method: 'POST', url: `/api/v1${path}`, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, payload });
      const body = (res.body === '' ? undefined : JSON.parse(res.body)) as T;
      if (res.statusCode < 200 || res.statusCode >= 300) throw failed('POST', path, res.statusCode, body);
      return body;
    },
    async ok<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const answer = await call<T>(method, path, body);
      if (answer.status < 200 || answer.status >= 300) throw failed(method, path, answer.status, answer.body);
      return answer.body;
    },
  };
}
