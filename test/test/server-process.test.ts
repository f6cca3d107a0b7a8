import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));
const START_TIMEOUT_MS = Number(process.env['OUTPOST_TEST_SERVICE_TIMEOUT_MS'] ?? 20_000);

describe('the outpost server process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-server-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('becomes ready, serves the API, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'server'], {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        OUTPOST_HTTP_PORT: '0',
        OUTPOST_DEVICE_PORT: '0',
        OUTPOST_MQTT_PORT: '0',
        OUTPOST_ADMIN_PASSWORD: 'process-test-password',
        OUTPOST_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const deadline = Date.now() + START_TIMEOUT_MS;
    let url: string | undefined;
    while (url === undefined) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not become ready:\n${output}`);
      url = /"operatorUrl":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1];
      if (url === undefined) await new Promise((r) => setTimeout(r, 50));
    }

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'process-test-password' }),
    });
    expect(login.status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('outpost stopped');
    // The data dir and the generated secret key land where the server was started.
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'outpost-data', 'state.db'))).isFile()).toBe(true);
    expect((await stat(join(dir, 'outpost-secret.key'))).mode & 0o777).toBe(0o600);
    expect(output).not.toContain('process-test-password');
  });

  it('refuses invalid configuration with every problem listed and a non-zero exit', async () => {
    const child = spawn(process.execPath, [BIN, 'server'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', OUTPOST_HTTP_PORT: 'eighty', OUTPOST_REDIS_URL: 'redis://127.0.0.1:6379', OUTPOST_LOG_LEVEL: 'loud' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(stderr).toContain('OUTPOST_HTTP_PORT');
    expect(stderr).toContain('OUTPOST_LOG_LEVEL');
    expect(stderr).toMatch(/OUTPOST_REDIS_URL.*not supported yet/);
  });
});
