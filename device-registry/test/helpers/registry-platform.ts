import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { startPlatform, TEST_ADMIN_PASSWORD, type Platform } from '@outpost/e2e';
import type { PartFactory } from '@outpost/kernel';
import type { RegistryEvent } from '@outpost/protocol';
import { createRegistryPart, type RegistryPartOptions } from '../../src/index.js';
import type { RegistryPort } from '@outpost/kernel';

export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface DeviceAnswer extends HttpAnswer {
  /** The server certificate the handshake presented. */
  readonly peerCn: string;
  readonly peerIssuerCn: string;
  readonly peerSan: string;
  readonly peerSerial: string;
}

export interface TestClock {
  now(): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function testClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

export interface RegistryPlatform {
  readonly platform: Platform;
  readonly clock: TestClock;
  readonly operatorUrl: string;
  readonly deviceUrl: string;
  readonly dataDir: string;
  readonly events: RegistryEvent[];
  readonly port: RegistryPort;
  /** An admin session token. */
  readonly admin: string;
  api(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<HttpAnswer>;
  /** A request to the device HTTPS listener, trusting `ca` (default: the current chain). */
  device(method: string, path: string, options?: { body?: unknown; ca?: string; cert?: string; key?: string }): Promise<DeviceAnswer>;
  /** Creates a user with a role and answers a session token for it. */
  userToken(role: 'viewer' | 'operator' | 'admin'): Promise<string>;
  /** Creates an enrollment token through the API; answers its secret. */
  enrollmentToken(body?: Record<string, unknown>): Promise<{ id: string; token: string }>;
  /** The trusted CA chain now (GET /api/v1/ca). */
  chain(): Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly part?: RegistryPartOptions;
  readonly clock?: TestClock;
  /** Reuse a data dir (a restart); it is then not removed by close(). */
  readonly dataDir?: string;
  readonly secretKey?: Buffer;
}

/** The real platform with the registry part on 127.0.0.1:0 and a throwaway data dir. */
export async function startRegistryPlatform(options: StartOptions = {}): Promise<RegistryPlatform> {
  const clock = options.clock ?? testClock();
  const factory: PartFactory = createRegistryPart(options.part);
  let port: RegistryPort | undefined;
  const capture: PartFactory = async (deps) => {
    const part = await factory(deps);
    port = part.provides?.['registry'] as RegistryPort;
    return part;
  };
  const started = await startPlatform({
    parts: [capture],
    clock,
    dirPrefix: 'outpost-registry-',
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.secretKey === undefined ? {} : { secretKey: options.secretKey }),
  });
  const { platform, dataDir } = started;
  const deviceUrl = started.deviceUrl();
  if (deviceUrl === undefined || port === undefined) throw new Error('the device listener did not start');
  const registryPort: RegistryPort = port;
  const events: RegistryEvent[] = [];
  const subscription = registryPort.events.subscribe((e) => events.push(e));

  const api: RegistryPlatform['api'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${started.operatorUrl}${path}`, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json') && text.length > 0 ? (JSON.parse(text) as unknown) : text;
    return { status: res.status, body: json, text, headers: Object.fromEntries(res.headers) };
  };

  let currentChainPem = '';
  // An API token without expiry: sessions would expire when a test moves the clock by days.
  const admin = await (async () => {
    const login = await api('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    const session = (login.body as { token: string }).token;
    const res = await api('POST', '/api/v1/api-tokens', { token: session, body: { name: 'tests' } });
    return (res.body as { token: string }).token;
  })();
  const refreshChain = async (): Promise<void> => {
    const res = await api('GET', '/api/v1/ca', { token: admin });
    if (res.status !== 200) throw new Error(`GET /api/v1/ca answered ${res.status}: ${res.text}`);
    currentChainPem = (res.body as { chainPem: string }).chainPem;
  };
  await refreshChain();

  const device: RegistryPlatform['device'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = httpsRequest(
        `${deviceUrl}${path}`,
        {
          method,
          ca: opts.ca ?? currentChainPem,
          agent: false,
          ...(opts.cert === undefined ? {} : { cert: opts.cert }),
          ...(opts.key === undefined ? {} : { key: opts.key }),
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const peer = (res.socket as TLSSocket).getPeerCertificate();
            const json = (res.headers['content-type'] ?? '').includes('json') && text.length > 0 ? (JSON.parse(text) as unknown) : text;
            resolve({
              status: res.statusCode ?? 0,
              body: json,
              text,
              headers: res.headers,
              peerCn: String(peer.subject?.CN ?? ''),
              peerIssuerCn: String(peer.issuer?.CN ?? ''),
              peerSan: peer.subjectaltname ?? '',
              peerSerial: String(peer.serialNumber ?? '').toLowerCase(),
            });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });

  let users = 0;
  return {
    platform,
    clock,
    operatorUrl: started.operatorUrl,
    deviceUrl,
    dataDir,
    events,
    port: registryPort,
    admin,
    api,
    device: async (method, path, opts) => {
      await refreshChain();
      return device(method, path, opts);
    },
    async userToken(role) {
      users += 1;
      const username = `${role}${users}`;
      const created = await api('POST', '/api/v1/users', { token: admin, body: { username, password: ADMIN_PASSWORD, role } });
      if (created.status !== 201) throw new Error(`could not create ${username}: ${created.text}`);
      const res = await api('POST', '/api/v1/auth/login', { body: { username, password: ADMIN_PASSWORD } });
      return (res.body as { token: string }).token;
    },
    async enrollmentToken(body = {}) {
      const res = await api('POST', '/api/v1/enrollment-tokens', { token: admin, body: { group: 'lab', maxUses: 10, ttlSeconds: 3600, ...body } });
      if (res.status !== 201) throw new Error(`could not create an enrollment token: ${res.text}`);
      return res.body as { id: string; token: string };
    },
    async chain() {
      await refreshChain();
      return currentChainPem;
    },
    async close() {
      subscription.unsubscribe();
      await started.close();
    },
  };
}
