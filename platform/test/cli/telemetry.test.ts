/**
 * `outpost telemetry` against the real platform in-process: the registry and dashboard parts
 * (loaded at run time by package name, as `outpost server` does: they depend on the platform's
 * types, so a static import would be a project-reference cycle), the embedded telemetry store,
 * and devices enrolled over the device listener with CSRs made by the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTelemetryStore, type TelemetryPoint, type TelemetryStore } from '@outpost/telemetry';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDashboardPart } from '@outpost/dashboard';
import { createRegistryPart } from '@outpost/device-registry';
import type { PartFactory } from '@outpost/kernel';
import type { Platform } from '../../src/server/platform.js';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** A whole hour, so 10-minute buckets of the last hour start at NOW - 60 min exactly. */
const NOW = Math.floor(Date.now() / HOUR) * HOUR;
const HOUR_AGO = NOW - HOUR;


interface Answer {
  status: number;
  body: unknown;
}

describe('outpost telemetry', () => {
  let dir: string;
  let platform: Platform;
  let started: TestPlatform | undefined;
  let store: TelemetryStore;
  let env: Record<string, string>;
  let home: Awaited<ReturnType<typeof makeHome>>;

  async function api(method: string, path: string, body: unknown, token?: string): Promise<Answer> {
    const res = await platform.operator.inject({ method: method as 'GET', url: path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body.length > 0 ? (JSON.parse(res.body) as unknown) : undefined };
  }

  async function enroll(deviceId: string, token: string, chain: string): Promise<void> {
    const keyFile = join(dir, `${deviceId}.key.pem`);
    await writeFile(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const csr = execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${deviceId}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const payload = JSON.stringify({ v: 1, token, csr });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${platform.deviceUrl() ?? ''}/device/v1/enroll`, { method: 'POST', ca: chain, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(payload);
    });
    if (status !== 201) throw new Error(`enroll ${deviceId}: HTTP ${status}`);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-cli-telemetry-'));
    const clock = { now: () => NOW };
    store = await openTelemetryStore({ embeddedFile: join(dir, 'telemetry.sqlite'), deadLetterFile: join(dir, 'dead.jsonl'), retentionDays: 30, retentionIntervalMs: 0, clock });
    const dashboard: PartFactory = createDashboardPart();
    const telemetryStore = store;
    started = await startTestPlatform({
      env: { OUTPOST_HTTP_HOST: '127.0.0.1', OUTPOST_PUBLIC_HOST: '127.0.0.1', OUTPOST_SERVER_NAMES: 'localhost,127.0.0.1' },
      parts: [createRegistryPart(), (deps) => dashboard({ ...deps, telemetry: telemetryStore })],
      clock,
    });
    platform = started.platform;
    const operatorUrl = started.url;
    const admin = ((await api('POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).body as { token: string }).token;
    const chain = ((await api('GET', '/api/v1/ca', undefined, admin)).body as { chainPem: string }).chainPem;
    const enrollment = ((await api('POST', '/api/v1/enrollment-tokens', { group: 'greenhouse', maxUses: 10, ttlSeconds: 3_600 }, admin)).body as { token: string }).token;
    await enroll('pi-01', enrollment, chain);
    await enroll('pi-02', enrollment, chain);
    const points: TelemetryPoint[] = [];
    for (let k = 0; k < 360; k += 1) {
      points.push({ deviceId: 'pi-01', ts: HOUR_AGO + k * 10_000, metrics: { temperature: k } });
      points.push({ deviceId: 'pi-02', ts: HOUR_AGO + k * 10_000, metrics: { temperature: 1_000 } });
    }
    points.push({ deviceId: 'pi-01', ts: NOW - MINUTE, metrics: { door: true, state: 'ok' } });
    await store.write(points);
    env = { OUTPOST_SERVER: operatorUrl, OUTPOST_TOKEN: admin };
  }, 120_000);
  afterAll(async () => {
    await started?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    home = await makeHome();
  });
  afterEach(() => home.cleanup());

  const run = (argv: string[]) => outpost(['telemetry', ...argv], { home: home.dir, env, now: () => NOW });

  it("prints a device's series as a table, with what was asked on stderr", async () => {
    const result = await run(['query', 'pi-01', '--metric', 'temperature', '--from', String(HOUR_AGO), '--to', new Date(NOW).toISOString(), '--every', '10m']);
    expect(result.code).toBe(0);
    const at = (m: number): string => new Date(HOUR_AGO + m * MINUTE).toISOString().replace('.000Z', 'Z');
    expect(lines(result.stdout)).toEqual([
      'TIME                  MEAN',
      `${at(0)}  29.5`,
      `${at(10)}  89.5`,
      `${at(20)}  149.5`,
      `${at(30)}  209.5`,
      `${at(40)}  269.5`,
      `${at(50)}  329.5`,
    ]);
    expect(result.stderr).toBe(`temperature of device pi-01: mean per 10m from ${at(0)} to ${at(60)}, 6 points\n`);
  });

  it('reads --from as a duration ago, and prints the raw answer with --json', async () => {
    const result = await run(['query', 'pi-01', '--metric', 'temperature', '--from', '30m', '--every', '15m', '--fn', 'max', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      metric: 'temperature',
      every: '15m',
      fn: 'max',
      from: NOW - 30 * MINUTE,
      to: NOW,
      points: [
        { ts: NOW - 30 * MINUTE, value: 269 },
        { ts: NOW - 15 * MINUTE, value: 359 },
      ],
    });
  });

  it('says so when the range holds no points', async () => {
    const result = await run(['query', 'pi-01', '--metric', 'temperature', '--from', '48h', '--to', '47h']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)[1]).toBe('No points in this range.');
  });

  it("prints a device's latest values and its metrics", async () => {
    const latest = await run(['latest', 'pi-01']);
    const at = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
    expect(latest.code).toBe(0);
    expect(lines(latest.stdout)).toEqual([
      'METRIC       VALUE  TIME',
      `door         true   ${at(NOW - MINUTE)}`,
      `state        ok     ${at(NOW - MINUTE)}`,
      `temperature  359    ${at(NOW - 10_000)}`,
    ]);
    const metrics = await run(['metrics', 'pi-01']);
    expect(lines(metrics.stdout).sort()).toEqual(['METRIC       TYPE', 'door         boolean', 'state        string', 'temperature  number'].sort());
  });

  it("prints a group's series", async () => {
    const result = await run(['fleet', '--metric', 'temperature', '--group', 'greenhouse', '--every', '30m', '--fn', 'count']);
    expect(result.code).toBe(0);
    expect(lines(result.stdout).slice(1).map((line) => line.split(/\s+/)[1])).toEqual(['360', '360']);
    expect(result.stderr).toContain('temperature of group greenhouse: count per 30m');
  });

  it('reports an unknown device and a refused query in one line with exit code 1', async () => {
    expect(await run(['query', 'pi-99', '--metric', 'temperature'])).toEqual({ code: 1, stdout: '', stderr: 'error: no device pi-99 (DEVICE_NOT_FOUND)\n' });
    const refused = await run(['query', 'pi-01', '--metric', 'temperature', '--every', '500ms']);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: 'error: every must be at least 1s (got "500ms") (VALIDATION_FAILED)\n' });
  });

  it.each([
    [['query', 'pi-01'], 'missing'],
    [['query', 'pi-01', '--metric', 'temperature', '--fn', 'median'], 'invalid value "median" for --fn'],
    [['query', 'pi-01', '--metric', 'temperature', '--from', 'yesterday'], 'invalid --from "yesterday"'],
    [['query', '--metric', 'temperature'], 'DEVICE'],
  ])('refuses %j as a usage error without calling the server', async (argv, reason) => {
    const result = await outpost(['telemetry', ...argv], { home: home.dir, env, now: () => NOW, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(reason);
  });
});
