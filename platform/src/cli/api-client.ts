import type { Static, TSchema } from 'typebox';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { ApiAnswerError, CliError } from './cli-error.js';
import { printable } from './terminal-text.js';

export type QueryValue = string | number | boolean | undefined;

export interface ApiRequestOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
}

/** The platform's REST API at `${server}/api/v1`, as the CLI uses it. */
export interface ApiClient {
  readonly server: string;
  /** Sends a request and returns its JSON answer, checked against `schema`. */
  call<S extends TSchema>(method: string, path: string, schema: S, options?: ApiRequestOptions): Promise<Static<S>>;
  /** Sends a request whose answer has no body worth reading (e.g. 204). */
  send(method: string, path: string, options?: ApiRequestOptions): Promise<void>;
}

export interface ApiClientOptions {
  /** Base URL without `/api/v1`, e.g. `http://127.0.0.1:8080`. */
  readonly server: string;
  /** Bearer token; absent for `POST /auth/login`. */
  readonly token?: string;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  /** Appended to a 401 message, e.g. `run 'outpost login'`. */
  readonly unauthenticatedHint: string;
}

const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });

/** The reason a request never got an answer: `ECONNREFUSED`, `ENOTFOUND`, `timed out after 30 s`… */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `timed out after ${timeoutMs / 1000} s`;
  }
  const cause = err instanceof Error ? err.cause : undefined;
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : undefined;
  };
  const nested = cause instanceof AggregateError ? cause.errors[0] : undefined;
  const code = codeOf(cause) ?? codeOf(nested) ?? codeOf(err);
  if (code !== undefined) return code;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** `/users/a b` → `${server}/api/v1/users/a%20b?limit=10` (path segments are encoded by callers). */
function requestUrl(server: string, path: string, query: Readonly<Record<string, QueryValue>> | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const search = params.toString();
  return `${server}/api/v1${path}${search === '' ? '' : `?${search}`}`;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { server, token, timeoutMs } = options;

  async function exchange(method: string, path: string, request: ApiRequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await options.fetch(requestUrl(server, path, request.query), {
        method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw new CliError('CLI_UNREACHABLE', `cannot reach ${server} (${printable(networkReason(err, timeoutMs))})`, { cause: err });
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async function errorFrom(response: Response): Promise<ApiAnswerError> {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    const hint = response.status === 401 ? ` — ${options.unauthenticatedHint}` : '';
    if (Value.Check(ErrorBody, body)) {
      return new ApiAnswerError(response.status, body.code, `${printable(body.message)} (${printable(body.code)})${hint}`);
    }
    const statusText = response.statusText === '' ? '' : ` ${printable(response.statusText)}`;
    return new ApiAnswerError(response.status, undefined, `${server} answered HTTP ${response.status}${statusText}${hint}`);
  }

  return {
    server,

    async call(method, path, schema, request = {}) {
      const response = await exchange(method, path, request);
      let data: unknown;
      try {
        data = await response.json();
      } catch (err) {
        throw new CliError('CLI_BAD_RESPONSE', `unexpected answer from ${server} to ${method} ${path}: not JSON`, { cause: err });
      }
      if (!Value.Check(schema, data)) {
        const first = Value.Errors(schema, data)[0];
        const where = first === undefined ? '' : `: ${first.instancePath === '' ? '/' : first.instancePath} ${first.message}`;
        throw new CliError('CLI_BAD_RESPONSE', `unexpected answer from ${server} to ${method} ${path}${printable(where)}`);
      }
      return data;
    },

    async send(method, path, request = {}) {
      const response = await exchange(method, path, request);
      await response.body?.cancel();
    },
  };
}
