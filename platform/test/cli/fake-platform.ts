import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A stand-in for the platform's operator REST API (`/api/v1`) while the real one is
 * being written in parallel: only the routes the CLI's operator commands call, with
 * the answer shapes of the contract, and a record of every request the CLI sent.
 * It runs as a real node:http server on 127.0.0.1:0.
 */

export interface RecordedRequest {
  readonly method: string;
  /** Path below `/api/v1`, e.g. `/users/alice`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

interface FakeUser {
  username: string;
  role: string;
  password: string;
  createdAt: number;
}

interface FakeToken {
  id: string;
  token: string;
  name: string;
  role: string;
  createdBy: string;
  createdAt: number;
  expiresAt?: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
}

export interface FakePlatform {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly users: Map<string, FakeUser>;
  readonly tokens: Map<string, FakeToken>;
  readonly audit: AuditEntry[];
  /** Logged-in sessions: token → username. */
  readonly sessions: Map<string, string>;
  /** Page size of list routes when the CLI sends no `limit`. */
  pageSize: number;
  /** A session token for `username`, as if they had logged in. */
  sessionFor(username: string): string;
  close(): Promise<void>;
}

export const ADMIN_PASSWORD = 'correct-horse-battery-staple';
export const CREATED_AT = Date.UTC(2026, 0, 31, 12, 0, 0);

type Answer = { status: number; body?: unknown };

function error(status: number, code: string, message: string): Answer {
  return { status, body: { code, message } };
}

function page<T>(items: readonly T[], query: Readonly<Record<string, string>>, pageSize: number): Answer {
  const limit = query['limit'] === undefined ? pageSize : Number(query['limit']);
  const start = query['cursor'] === undefined ? 0 : Number(query['cursor']);
  const slice = items.slice(start, start + limit);
  const next = start + limit < items.length ? { nextCursor: String(start + limit) } : {};
  return { status: 200, body: { items: slice, ...next } };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

export async function startFakePlatform(): Promise<FakePlatform> {
  const requests: RecordedRequest[] = [];
  const users = new Map<string, FakeUser>([['admin', { username: 'admin', role: 'admin', password: ADMIN_PASSWORD, createdAt: CREATED_AT }]]);
  const tokens = new Map<string, FakeToken>();
  const sessions = new Map<string, string>();
  const audit: AuditEntry[] = [];
  let nextTokenId = 1;

  const principal = (authorization: string | undefined): { username: string; role: string; via: string } | undefined => {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (token === undefined) return undefined;
    const sessionUser = users.get(sessions.get(token) ?? '');
    if (sessionUser !== undefined) return { username: sessionUser.username, role: sessionUser.role, via: 'session' };
    const apiToken = [...tokens.values()].find((t) => t.token === token);
    return apiToken === undefined ? undefined : { username: apiToken.createdBy, role: apiToken.role, via: 'api-token' };
  };

  const fake: FakePlatform = {
    url: '',
    requests,
    users,
    tokens,
    audit,
    sessions,
    pageSize: 100,
    sessionFor(username) {
      const token = `sess_${randomBytes(12).toString('hex')}`;
      sessions.set(token, username);
      return token;
    },
    close: () => Promise.resolve(),
  };

  function route(request: RecordedRequest): Answer {
    const { method, path, query } = request;
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (method === 'POST' && path === '/auth/login') {
      const user = users.get(String(body['username']));
      if (user === undefined || user.password !== body['password']) return error(401, 'UNAUTHENTICATED', 'wrong username or password');
      return { status: 200, body: { token: fake.sessionFor(user.username), expiresAt: Date.now() + 3_600_000, role: user.role } };
    }
    const who = principal(request.authorization);
    if (who === undefined) return error(401, 'UNAUTHENTICATED', 'authentication required');
    if (method === 'POST' && path === '/auth/logout') {
      sessions.delete(request.authorization?.slice('Bearer '.length) ?? '');
      return { status: 204 };
    }
    if (method === 'GET' && path === '/auth/me') return { status: 200, body: who };

    const view = ({ username, role, createdAt }: FakeUser) => ({ username, role, createdAt });
    if (path === '/users' && method === 'GET') return page([...users.values()].map(view), query, fake.pageSize);
    if (path === '/users' && method === 'POST') {
      const username = String(body['username']);
      if (users.has(username)) return error(409, 'CONFLICT', `user "${username}" already exists`);
      const user = { username, role: String(body['role']), password: String(body['password']), createdAt: CREATED_AT };
      users.set(username, user);
      return { status: 201, body: view(user) };
    }
    const userMatch = /^\/users\/([^/]+)$/.exec(path);
    if (userMatch?.[1] !== undefined) {
      const name = decodeURIComponent(userMatch[1]);
      const user = users.get(name);
      if (user === undefined) return error(404, 'NOT_FOUND', `no user "${name}"`);
      if (method === 'PATCH') {
        if (typeof body['role'] === 'string') user.role = body['role'];
        if (typeof body['password'] === 'string') user.password = body['password'];
        return { status: 200, body: view(user) };
      }
      if (method === 'DELETE') {
        users.delete(name);
        return { status: 204 };
      }
    }

    const tokenView = ({ token: _secret, ...info }: FakeToken) => info;
    if (path === '/api-tokens' && method === 'GET') return page([...tokens.values()].map(tokenView), query, fake.pageSize);
    if (path === '/api-tokens' && method === 'POST') {
      const id = `tok_${nextTokenId++}`;
      const ttl = typeof body['ttlSeconds'] === 'number' ? body['ttlSeconds'] : undefined;
      const token: FakeToken = {
        id,
        token: `opat_${randomBytes(16).toString('hex')}`,
        name: String(body['name']),
        role: typeof body['role'] === 'string' ? body['role'] : who.role,
        createdBy: who.username,
        createdAt: CREATED_AT,
        ...(ttl === undefined ? {} : { expiresAt: CREATED_AT + ttl * 1000 }),
      };
      tokens.set(id, token);
      const { id: _, token: secret, name, role, expiresAt } = token;
      return { status: 201, body: { id, token: secret, name, role, ...(expiresAt === undefined ? {} : { expiresAt }) } };
    }
    const tokenMatch = /^\/api-tokens\/([^/]+)$/.exec(path);
    if (tokenMatch?.[1] !== undefined && method === 'DELETE') {
      return tokens.delete(decodeURIComponent(tokenMatch[1])) ? { status: 204 } : error(404, 'NOT_FOUND', 'no such API token');
    }

    if (path === '/audit' && method === 'GET') return page(audit, query, fake.pageSize);
    return error(404, 'NOT_FOUND', `route ${method} ${path} not found`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname.replace(/^\/api\/v1/, ''),
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: req.headers.authorization,
    };
    requests.push(request);
    const answer = url.pathname.startsWith('/api/v1/') ? route(request) : error(404, 'NOT_FOUND', 'not found');
    if (answer.body === undefined) {
      res.writeHead(answer.status).end();
    } else {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'INTERNAL', message: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
      }),
  });
}
