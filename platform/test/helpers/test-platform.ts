import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import type { PartFactory } from '@outpost/kernel';
import { Platform, type PlatformOptions } from '../../src/server/platform.js';

export const ADMIN_PASSWORD = 'correct-horse-battery-staple';

export interface TestPlatform {
  readonly platform: Platform;
  readonly url: string;
  readonly dataDir: string;
  readonly stdout: string[];
  request(method: string, path: string, options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; body: unknown; headers: Headers }>;
  login(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

/** A whole platform on 127.0.0.1:0 with a throwaway data dir; everything it opens is closed by close(). */
export async function startTestPlatform(options: {
  parts?: readonly PartFactory[];
  env?: Record<string, string>;
  live?: PlatformOptions['live'];
  clock?: PlatformOptions['clock'];
  adminPassword?: string | null;
} = {}): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'outpost-platform-'));
  const env: Record<string, string> = {
    OUTPOST_DATA_DIR: join(dataDir, 'data'),
    OUTPOST_SECRET_KEY_FILE: join(dataDir, 'secret.key'),
    OUTPOST_HTTP_PORT: '0',
    OUTPOST_DEVICE_PORT: '0',
    OUTPOST_DEVICE_HOST: '127.0.0.1',
    OUTPOST_MQTT_PORT: '0',
    OUTPOST_LOG_LEVEL: 'silent',
    ...(options.adminPassword === null ? {} : { OUTPOST_ADMIN_PASSWORD: options.adminPassword ?? ADMIN_PASSWORD }),
    ...options.env,
  };
  const loaded = loadConfig({ env, cwd: dataDir });
  if (!loaded.ok) throw new Error(`test config invalid: ${loaded.errors.join('; ')}`);
  const stdout: string[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
  const platform = await Platform.create({
    config: loaded.config,
    log: pino({ level: 'silent' }),
    secretKey: Buffer.alloc(32, 7),
    parts: options.parts ?? [],
    version: '0.0.0-test',
    stdout: out,
    ...(options.live === undefined ? {} : { live: options.live }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const { operatorUrl } = await platform.start();

  const request: TestPlatform['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) {
      body = opts.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${operatorUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    platform,
    url: operatorUrl,
    dataDir,
    stdout,
    request,
    async login(username, password) {
      const res = await request('POST', '/api/v1/auth/login', { body: { username, password } });
      if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { token: string }).token;
    },
    async close() {
      await platform.close(5_000);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
