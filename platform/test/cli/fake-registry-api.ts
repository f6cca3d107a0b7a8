import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A stand-in for the registry's operator routes (`/api/v1/enrollment-tokens`, `/devices…`)
 * with the answer shapes of the contract, recording every request the CLI sends. A real
 * node:http server on 127.0.0.1:0, like fake-platform.ts.
 */

export const TOKEN = 'sess_registry_cli_test';
export const CREATED_AT = Date.UTC(2026, 0, 31, 12, 0, 0);
export const CA_FINGERPRINT = `sha256:${'ab'.repeat(32)}`;

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface FakeDevice {
  id: string;
  status: string;
  online: boolean;
  lastSeen: number | null;
  group: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  hardware: string | null;
  agentVersion: string | null;
  firmware: { name: string; version: string; slot: string } | null;
  outbox?: { depth: number; bytes: number; maxBytes?: number; dropped: number; droppedSamples?: number; refused: number; at: number } | null;
  createdAt: number;
  updatedAt: number;
}

export interface FakeRegistryApi {
  readonly url: string;
  readonly requests: Recorded[];
  readonly tokens: { id: string; token: string; group: string; tags: Record<string, string>; maxUses: number; uses: number; state: string; expiresAt: number; createdBy: string; createdAt: number }[];
  readonly devices: Map<string, FakeDevice>;
  close(): Promise<void>;
}

export function fakeDevice(id: string, change: Partial<FakeDevice> = {}): FakeDevice {
  return { id, status: 'active', online: false, lastSeen: null, group: 'lab', tags: {}, metadata: {}, hardware: null, agentVersion: null, firmware: null, createdAt: CREATED_AT, updatedAt: CREATED_AT, ...change };
}

type Answer = { status: number; body?: unknown };
const notFound = (what: string): Answer => ({ status: 404, body: { code: 'DEVICE_NOT_FOUND', message: `no device ${what}` } });

export async function startFakeRegistryApi(): Promise<FakeRegistryApi> {
  const requests: Recorded[] = [];
  const tokens: FakeRegistryApi['tokens'] = [];
  const devices = new Map<string, FakeDevice>();

  function route(r: Recorded): Answer {
    const body = (r.body ?? {}) as Record<string, unknown>;
    if (r.path === '/enrollment-tokens' && r.method === 'POST') {
      const id = `et_${tokens.length + 1}`;
      const token = `oet_secret${tokens.length + 1}`;
      const expiresAt = CREATED_AT + Number(body['ttlSeconds']) * 1000;
      const tags = (body['tags'] ?? {}) as Record<string, string>;
      tokens.push({ id, token, group: String(body['group']), tags, maxUses: Number(body['maxUses']), uses: 0, state: 'active', expiresAt, createdBy: 'admin', createdAt: CREATED_AT });
      const enrollCommand = `outpost-agent enroll --server https://pi.example:8443 --token ${token} --ca-fingerprint ${CA_FINGERPRINT}`;
      return { status: 201, body: { id, token, group: body['group'], tags, maxUses: body['maxUses'], expiresAt, caFingerprint: CA_FINGERPRINT, enrollCommand } };
    }
    if (r.path === '/enrollment-tokens' && r.method === 'GET') return { status: 200, body: { items: tokens.map(({ token: _secret, ...rest }) => rest) } };
    const tokenMatch = /^\/enrollment-tokens\/([^/]+)$/.exec(r.path);
    if (tokenMatch?.[1] !== undefined && r.method === 'DELETE') {
      const found = tokens.find((t) => t.id === decodeURIComponent(tokenMatch[1] ?? ''));
      if (found === undefined) return { status: 404, body: { code: 'ENROLL_TOKEN_NOT_FOUND', message: 'no enrollment token' } };
      found.state = 'revoked';
      return { status: 204 };
    }
    if (r.path === '/devices' && r.method === 'GET') return { status: 200, body: { items: [...devices.values()] } };
    const m = /^\/devices\/([^/]+)(\/[a-z]+)?$/.exec(r.path);
    const id = m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const device = id === undefined ? undefined : devices.get(id);
    if (id === undefined) return { status: 404, body: { code: 'NOT_FOUND', message: 'no route' } };
    if (device === undefined) return notFound(id);
    const action = m?.[2];
    if (action === undefined && r.method === 'GET') {
      return { status: 200, body: { ...device, certificates: [{ serial: '0a1b', status: 'valid', notBefore: CREATED_AT, notAfter: CREATED_AT + 90 * 86_400_000, revokedAt: null }], certificateExpiresAt: CREATED_AT + 90 * 86_400_000 } };
    }
    if (action === undefined && r.method === 'DELETE') {
      device.status = 'decommissioned';
      return { status: 204 };
    }
    const next: Record<string, string> = { '/suspend': 'suspended', '/resume': 'active', '/revoke': 'revoked' };
    if (action !== undefined && r.method === 'POST' && next[action] !== undefined) {
      device.status = next[action] ?? device.status;
      return { status: 200, body: device };
    }
    if (action === '/config' && r.method === 'PUT') return { status: 200, body: { deviceId: id, version: 3, config: { v: 1, version: 3, ...body } } };
    if (action === '/config' && r.method === 'GET') return { status: 200, body: { deviceId: id, version: 3, config: { v: 1, version: 3, collectors: [] } } };
    if (action === '/commands' && r.method === 'POST') {
      return { status: 201, body: { id: 'c1', deviceId: id, name: body['name'], args: body['args'], state: 'queued', expiresAt: CREATED_AT + Number(body['ttlSeconds'] ?? 3600) * 1000 } };
    }
    return { status: 404, body: { code: 'NOT_FOUND', message: 'no route' } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const recorded: Recorded = { method: req.method ?? 'GET', path: url.pathname.replace(/^\/api\/v1/, ''), query: Object.fromEntries(url.searchParams), body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    requests.push(recorded);
    const answer = req.headers.authorization === `Bearer ${TOKEN}` ? route(recorded) : { status: 401, body: { code: 'UNAUTHENTICATED', message: 'authentication required' } };
    if (answer.body === undefined) res.writeHead(answer.status).end();
    else res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'INTERNAL', message: String(err) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tokens,
    devices,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
      }),
  };
}
