import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServerUntilExit, serviceTimeoutMs, startServerProcess } from '../src/index.js';

describe('the outpost server process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-server-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('becomes ready, serves the API, and exits 0 on SIGTERM', async () => {
    const server = await startServerProcess(dir, { OUTPOST_ADMIN_PASSWORD: 'process-test-password' }, serviceTimeoutMs(20_000));
    const url = server.operatorUrl;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'process-test-password' }),
    });
    expect(login.status).toBe(200);

    await server.stop();
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('outpost stopped');
    // The data dir and the generated secret key land where the server was started.
    expect((await stat(join(dir, 'outpost-data', 'state.db'))).isFile()).toBe(true);
    expect((await stat(join(dir, 'outpost-secret.key'))).mode & 0o777).toBe(0o600);
    expect(server.output()).not.toContain('process-test-password');
  });

  it('refuses invalid configuration with every problem listed and a non-zero exit', async () => {
    const refused = await runServerUntilExit(dir, { OUTPOST_HTTP_PORT: 'eighty', OUTPOST_REDIS_URL: 'http://127.0.0.1:6379', OUTPOST_LOG_LEVEL: 'loud' }, serviceTimeoutMs(20_000));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('OUTPOST_HTTP_PORT');
    expect(refused.stderr).toContain('OUTPOST_LOG_LEVEL');
    expect(refused.stderr).toMatch(/OUTPOST_REDIS_URL.*redis:\/\//);
  });
});
