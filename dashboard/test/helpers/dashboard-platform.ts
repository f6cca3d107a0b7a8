/**
 * The real platform in-process with the registry and dashboard parts, the embedded telemetry
 * store (a SQLite file in a throwaway data dir), a fixed clock, and devices enrolled through
 * the device listener with CSRs made by the openssl CLI. Operator requests go through fastify's
 * `inject`. Everything it opens is closed by close().
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform, TEST_ADMIN_PASSWORD, type Platform } from '@outpost/e2e';
import type { PartFactory, RegistryPort } from '@outpost/kernel';
import { openTelemetryStore, type TelemetryStore } from '@outpost/telemetry';
import { createDashboardPart, type DashboardPartOptions } from '../../src/index.js';

export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface DashboardPlatform {
  readonly platform: Platform;
  readonly store: TelemetryStore;
  readonly registry: RegistryPort;
  readonly dataDir: string;
  /** An admin session token. */
  readonly admin: string;
  /** GET (or another method) on the operator app through `inject`. */
  api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, options?: { token?: string; body?: unknown }): Promise<Answer>;
  /** A session token of a new user with this role. */
  userToken(role: 'viewer' | 'operator' | 'admin'): Promise<string>;
  /** Enrolls a device with this id into `group` (a real CSR over the device listener). */
  enroll(deviceId: string, group: string): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly now: number;
  readonly dashboard?: DashboardPartOptions;
  /** Opens the store (default: the embedded one in the data dir); closed by close(). */
  readonly openStore?: (dataDir: string, clock: { now(): number }) => Promise<TelemetryStore>;
  /** Wraps the store the dashboard part receives (e.g. to record the calls reaching it). */
  readonly wrapStore?: (store: TelemetryStore) => TelemetryStore;
}

export async function startDashboardPlatform(options: StartOptions): Promise<DashboardPlatform> {
  const clock = { now: () => options.now };
  const captured: { registry?: RegistryPort; store?: TelemetryStore } = {};
  const registryPart: PartFactory = async (deps) => {
    const part = await createRegistryPart()(deps);
    captured.registry = part.provides?.['registry'] as RegistryPort | undefined;
    return part;
  };
  const dashboardPart = createDashboardPart(options.dashboard);
  // The platform hands the store to parts as `deps.telemetry`; the test opens its own in the data dir.
  const withStore: PartFactory = async (deps) => {
    const dir = dirname(deps.config.dataDir);
    const store = options.openStore !== undefined ? await options.openStore(dir, clock) : await openTelemetryStore({
      embeddedFile: join(dir, 'telemetry.sqlite'),
      deadLetterFile: join(dir, 'dead-letters.jsonl'),
      retentionDays: 3_650,
      retentionIntervalMs: 0,
      clock,
    });
    captured.store = store;
    return dashboardPart({ ...deps, telemetry: options.wrapStore?.(store) ?? store });
  };
  const started = await startPlatform({
    parts: [registryPart, withStore],
    clock,
    dirPrefix: 'outpost-dashboard-',
    afterClose: async () => {
      await captured.store?.close();
    },
  });
  const { platform, dataDir, close } = started;
  const store = captured.store;
  const registry = captured.registry;
  if (registry === undefined || store === undefined) {
    await close();
    throw new Error('the registry part did not provide its port');
  }

  const api: DashboardPlatform['api'] = async (method, url, opts = {}) => {
    const res = await platform.operator.inject({
      method,
      url,
      headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` },
      ...(opts.body === undefined ? {} : { payload: opts.body as Record<string, unknown> }),
    });
    const json = (res.headers['content-type'] ?? '').toString().includes('json') && res.body.length > 0;
    return { status: res.statusCode, body: json ? (JSON.parse(res.body) as unknown) : res.body };
  };
  const login = async (username: string): Promise<string> => {
    const res = await api('POST', '/api/v1/auth/login', { body: { username, password: ADMIN_PASSWORD } });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { token: string }).token;
  };
  const admin = await login('admin');
  const chain = ((await api('GET', '/api/v1/ca', { token: admin })).body as { chainPem: string }).chainPem;

  const tokens = new Map<string, string>();

  const deviceCall = (path: string, body: unknown): Promise<Answer> => {
    const base = platform.deviceUrl();
    if (base === undefined) return Promise.reject(new Error('the device listener is not bound'));
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, { method: 'POST', ca: chain, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  };

  let users = 0;
  return {
    platform,
    store,
    registry,
    dataDir,
    admin,
    api,
    async userToken(role) {
      users += 1;
      const username = `${role}${users}`;
      const created = await api('POST', '/api/v1/users', { token: admin, body: { username, password: ADMIN_PASSWORD, role } });
      if (created.status !== 201) throw new Error(`create user ${username}: ${created.status} ${JSON.stringify(created.body)}`);
      return login(username);
    },
    async enroll(deviceId, group) {
      let token = tokens.get(group);
      if (token === undefined) {
        const res = await api('POST', '/api/v1/enrollment-tokens', { token: admin, body: { group, maxUses: 100, ttlSeconds: 3_600 } });
        if (res.status !== 201) throw new Error(`enrollment token: ${res.status} ${JSON.stringify(res.body)}`);
        token = (res.body as { token: string }).token;
        tokens.set(group, token);
      }
      // A key of its own: the registry reads a second enrollment with the same token and key as a retry.
      const keyFile = join(dataDir, `${deviceId}.key.pem`);
      await writeFile(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      const csr = execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${deviceId}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const res = await deviceCall('/device/v1/enroll', { v: 1, token, csr });
      if (res.status !== 201) throw new Error(`enroll ${deviceId}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    close,
  };
}
