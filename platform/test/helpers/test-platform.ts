/**
 * The platform suites' client over the shared in-process harness (`startPlatform` of
 * @outpost/e2e): the operator API by fetch, and a login.
 */
import { startPlatform, TEST_ADMIN_PASSWORD } from '@outpost/e2e';
import type { Clock, PartFactory } from '@outpost/kernel';
import { Platform, type PlatformOptions } from '../../src/server/platform.js';

export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;

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
  clock?: Clock;
  adminPassword?: string | null;
} = {}): Promise<TestPlatform> {
  const started = await startPlatform({
    // This package's source is what its suites test, not the build the harness imports.
    composer: Platform,
    parts: options.parts ?? [],
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.live === undefined ? {} : { live: options.live }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.adminPassword === undefined ? {} : { adminPassword: options.adminPassword }),
  });
  const operatorUrl = started.operatorUrl;

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
    platform: started.platform,
    url: operatorUrl,
    dataDir: started.dataDir,
    stdout: started.stdout,
    request,
    async login(username, password) {
      const res = await request('POST', '/api/v1/auth/login', { body: { username, password } });
      if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { token: string }).token;
    },
    close: started.close,
  };
}
