import { session, signOut } from '../state/session.js';

/** A refused call: the server's coded error (`{code, message, details?}`) and its HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { readonly path?: string; readonly message: string }[] = [],
  ) {
    super(message);
  }
}

function failureOf(status: number, body: unknown): ApiFailure {
  if (typeof body === 'object' && body !== null && 'code' in body && 'message' in body) {
    const b = body as { code: unknown; message: unknown; details?: unknown };
    const details = Array.isArray(b.details) ? (b.details as { path?: string; message: string }[]).filter((d) => typeof d?.message === 'string') : [];
    return new ApiFailure(status, String(b.code), String(b.message), details);
  }
  return new ApiFailure(status, 'HTTP_' + String(status), `the server answered ${String(status)}`);
}

/**
 * One call to the operator API with the session's bearer token. A 401 ends the session: the
 * app goes back to the login page and says why.
 */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = session.value?.token;
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new ApiFailure(0, 'NETWORK', 'the server cannot be reached');
  }
  const text = await res.text();
  const parsed: unknown = text.length > 0 && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
  if (res.status === 401 && token !== undefined) {
    signOut('Your session expired or was ended. Sign in again.');
  }
  if (!res.ok) throw failureOf(res.status, parsed);
  return parsed as T;
}

/**
 * POSTs a multipart form with the session's bearer token, reporting the bytes sent as they go
 * (XMLHttpRequest: fetch has no upload progress). A refusal is an ApiFailure with the server's
 * own code and message; a 401 ends the session as in api().
 */
export function upload<T>(path: string, form: FormData, onProgress: (sent: number, total: number) => void): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const token = session.value?.token;
    xhr.open('POST', `/api/v1${path}`);
    xhr.setRequestHeader('accept', 'application/json');
    if (token !== undefined) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.onerror = () => reject(new ApiFailure(0, 'NETWORK', 'the upload was cut off: the server cannot be reached or closed the connection'));
    xhr.onload = () => {
      let parsed: unknown;
      try {
        parsed = xhr.responseText.length > 0 && (xhr.getResponseHeader('content-type') ?? '').includes('json') ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        parsed = undefined;
      }
      if (xhr.status === 401 && token !== undefined) signOut('Your session expired or was ended. Sign in again.');
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body: parsed as T });
      else reject(failureOf(xhr.status, parsed));
    };
    xhr.send(form);
  });
}

/** Downloads a POST answer (a file) through the browser, keeping the bearer header. */
export async function download(path: string, body: unknown, fallbackName: string): Promise<void> {
  const token = session.value?.token;
  const res = await fetch(`/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const text = await res.text();
    throw failureOf(res.status, text.startsWith('{') ? (JSON.parse(text) as unknown) : undefined);
  }
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Every page of a list route (`limit`, `cursor`), calling `onPage` as each arrives. The first
 * page is small (`firstLimit`) so something draws at once; the rest come 1,000 at a time.
 */
export async function allPages<T>(path: string, onPage: (items: readonly T[]) => void, signal?: { aborted: boolean }, firstLimit = 1000): Promise<void> {
  let cursor: string | undefined;
  let limit = firstLimit;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api<{ items: T[]; nextCursor?: string }>('GET', `${path}${sep}limit=${String(limit)}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    limit = 1000;
    if (signal?.aborted === true) return;
    onPage(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** A message for a failed call, with the server's per-field details when it gave any. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) return err.message;
  return err instanceof Error ? err.message : String(err);
}
