/**
 * A person at a terminal sees short readable lines, not JSON: `outpost server` and `outpost demo`
 * with the pretty log format (what a terminal gets by default; chosen here with the flag and the
 * config key, since the test's stdout is a pipe), the full JSON log in the data dir, no line per
 * request on the terminal, and the demo's banner last, after its progress lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePorts, serviceTimeoutMs, startServerProcess, waitFor } from '@outpost/e2e';

const CLI = fileURLToPath(new URL('../../../platform/dist/src/cli/main.js', import.meta.url));
const PASSWORD = 'readable-log-password';
const READABLE = /^\d\d:\d\d:\d\d (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;

interface Started {
  readonly child: ChildProcess;
  stdout(): string;
  output(): string;
  readonly exited: Promise<number | null>;
  readonly exitedEarly: () => Error | undefined;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(dir: string, args: readonly string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', OUTPOST_ADMIN_PASSWORD: PASSWORD, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let all = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
    all += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => (all += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const exitedEarly = (): Error | undefined => (child.exitCode === null ? undefined : new Error(`${args.join(' ')} exited with ${String(child.exitCode)}:\n${all.slice(-3000)}`));
  return { child, stdout: () => stdout, output: () => all, exited, exitedEarly };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-readable-log-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every line of the JSON log file parses as a JSON object; answers the records. */
async function jsonLog(dir: string): Promise<Record<string, unknown>[]> {
  const file = join(dir, 'outpost-data', 'logs', 'outpost.log');
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the readable log', () => {
  it('outpost server --log-format pretty: readable lines on stdout, no request lines, the JSON log in the data dir', { timeout: serviceTimeoutMs(60_000) }, async () => {
    const dir = await tempDir();
    const [http, device, mqtt] = await findFreePorts(3);
    const urls = { operatorUrl: `http://127.0.0.1:${String(http)}`, deviceUrl: `https://127.0.0.1:${String(device)}`, mqttUrl: `mqtts://127.0.0.1:${String(mqtt)}` };
    const env = { OUTPOST_HTTP_PORT: String(http), OUTPOST_DEVICE_PORT: String(device), OUTPOST_MQTT_PORT: String(mqtt), OUTPOST_ADMIN_PASSWORD: PASSWORD };
    // The readable log has no JSON line with the URLs: ready is GET /readyz on the fixed ports.
    const server = await startServerProcess(dir, env, { args: ['--log-format', 'pretty'], urls, timeoutMs: serviceTimeoutMs(30_000) });
    cleanups.push(() => server.stop());
    const url = await waitFor(() => /INFO {2}outpost ready: operator (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout())?.[1], {
      description: 'the readable "outpost ready" line',
      timeoutMs: serviceTimeoutMs(30_000),
    });
    expect(url).toBe(urls.operatorUrl);
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    expect(login.status).toBe(200);
    await server.stop();
    expect(await server.exited).toBe(0);

    const lines = server.stdout().trim().split('\n');
    for (const line of lines) expect(line).toMatch(READABLE);
    expect(server.stdout()).toContain(`full log (JSON lines) in ${join(dir, 'outpost-data', 'logs', 'outpost.log')}`);
    expect(server.stdout()).not.toMatch(/incoming request|request completed/);
    expect(server.stdout()).toMatch(/INFO {2}outpost stopped/);
    expect(server.output()).not.toContain(PASSWORD);

    const records = await jsonLog(dir);
    expect(records.filter((r) => r['msg'] === 'request completed').length).toBeGreaterThanOrEqual(6);
    expect(records.some((r) => typeof r['msg'] === 'string' && r['msg'].startsWith('outpost ready'))).toBe(true);
    expect(records.some((r) => r['msg'] === 'outpost stopped')).toBe(true);
  });

  it('outpost demo with OUTPOST_LOG_FORMAT=pretty: progress lines while the fleet enrolls, then the banner last', { timeout: serviceTimeoutMs(120_000) }, async () => {
    const dir = await tempDir();
    const [http, device, mqtt] = await findFreePorts(3);
    const env = {
      OUTPOST_HTTP_HOST: '127.0.0.1',
      OUTPOST_HTTP_PORT: String(http),
      OUTPOST_DEVICE_HOST: '127.0.0.1',
      OUTPOST_DEVICE_PORT: String(device),
      OUTPOST_MQTT_HOST: '127.0.0.1',
      OUTPOST_MQTT_PORT: String(mqtt),
      OUTPOST_PUBLIC_HOST: '127.0.0.1',
      OUTPOST_LOG_FORMAT: 'pretty',
    };
    const demo = start(dir, ['demo', '--devices', '2', '--interval', '1s'], env);
    await waitFor(() => demo.stdout().includes('Ctrl-C stops the fleet, then the platform.'), {
      description: 'the end of the demo banner',
      timeoutMs: serviceTimeoutMs(90_000),
      abortIf: demo.exitedEarly,
    });
    const [before = '', banner = ''] = demo.stdout().split('  Outpost demo is running.');
    // Before the banner: the demo's progress lines, and warnings (a new secret key file) as readable lines.
    const lines = before.trim().split('\n');
    for (const line of lines.filter((l) => !l.startsWith('outpost demo: '))) expect(line).toMatch(/^\d\d:\d\d:\d\d WARN /);
    const progress = lines.filter((l) => l.startsWith('outpost demo: '));
    expect(progress.slice(0, 7)).toEqual([
      'outpost demo: starting the platform (full log: outpost-data/logs/outpost.log)',
      `outpost demo: platform running at http://127.0.0.1:${String(http)}`,
      expect.stringMatching(/^outpost demo: made the demo signing key sha256:[0-9a-f]{32} \(trusted by the TrustSet\)$/),
      'outpost demo: enrolling 2 devices…',
      'outpost demo: 2/2 enrolled',
      expect.stringMatching(/^outpost demo: demo release \S+ uploaded; rollout \S+ is draft$/),
      'outpost demo: 2 agents started; waiting for them to come online…',
    ]);
    for (const line of progress.slice(7, -1)) expect(line).toMatch(/^outpost demo: [01]\/2 online$/);
    expect(progress.at(-1)).toBe('outpost demo: 2/2 online');
    expect(banner).toContain('Log (JSON lines)      outpost-data/logs/outpost.log');
    // The banner stays last: the platform's info lines and the agents' requests go to the file only;
    // Ctrl-C adds the stopping lines.
    const settled = demo.stdout().length;
    const api = await fetch(`http://127.0.0.1:${String(http)}/readyz`);
    expect(api.status).toBe(200);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stdout().slice(settled)).toBe('outpost demo: stopping the demo fleet, then the platform…\noutpost demo: stopped\n');
    expect(demo.output()).not.toMatch(/^\{/m);

    const records = await jsonLog(dir);
    expect(records.some((r) => r['msg'] === 'request completed')).toBe(true);
    expect(records.some((r) => r['msg'] === 'demo fleet running')).toBe(true);
  });
});
