/**
 * `outpost demo` (what `npm start` runs) as a user runs it: a real process in a temp dir that
 * starts the platform and real `outpost-agent` processes; checked through the REST API, then
 * stopped with SIGINT (exit 0, no agent left behind), and started again on the same data dir
 * (the fleet is reused, not enrolled again).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePorts, serviceTimeoutMs, waitFor } from '@outpost/e2e';

const CLI = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));
const PASSWORD = 'demo-e2e-password';
const BANNER = 'Outpost demo is running.';

interface DemoProcess {
  readonly child: ChildProcess;
  stdout(): string;
  output(): string;
  readonly exited: Promise<number | null>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startDemo(dir: string, env: Record<string, string>, args: readonly string[]): DemoProcess {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { child, stdout: () => stdout, output: () => all, exited };
}

/** Live child processes of `parent` running the agent (from /proc). */
async function agentChildren(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (cmdline.some((arg) => arg.endsWith(join('edge-agent', 'dist', 'src', 'main.js'))) && cmdline.includes('run')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function login(url: string): Promise<(path: string) => Promise<{ status: number; body: unknown }>> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  return async (path) => {
    const answer = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: answer.status, body: (await answer.json()) as unknown };
  };
}

describe('outpost demo', () => {
  it('runs the platform with a fleet of real agents, stops them all on SIGINT, and reuses the fleet on the next start', { timeout: serviceTimeoutMs(180_000) }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [http, device, mqtt] = await findFreePorts(3);
    const url = `http://127.0.0.1:${String(http)}`;
    const env = {
      OUTPOST_HTTP_HOST: '127.0.0.1',
      OUTPOST_HTTP_PORT: String(http),
      OUTPOST_DEVICE_HOST: '127.0.0.1',
      OUTPOST_DEVICE_PORT: String(device),
      OUTPOST_MQTT_HOST: '127.0.0.1',
      OUTPOST_MQTT_PORT: String(mqtt),
      OUTPOST_PUBLIC_HOST: '127.0.0.1',
      OUTPOST_ADMIN_PASSWORD: PASSWORD,
      OUTPOST_LOG_LEVEL: 'warn',
    };

    const demo = startDemo(dir, env, ['--devices', '2', '--interval', '1s']);
    const exitedEarly = (): Error | undefined => (demo.child.exitCode === null ? undefined : new Error(`outpost demo exited with ${String(demo.child.exitCode)}:\n${demo.output().slice(-3000)}`));
    await waitFor(() => demo.stdout().includes(BANNER), { description: 'the demo banner', timeoutMs: serviceTimeoutMs(90_000), abortIf: exitedEarly });
    const banner = demo.stdout();
    expect(banner).toContain(`${url}/api/docs`);
    expect(banner).toContain('the password from OUTPOST_ADMIN_PASSWORD');
    expect(banner).toMatch(/Devices \(group demo\)\s+demo-01 \(runs warm\), demo-02\n/);
    expect(banner).toContain('cold-room-warm');
    expect(banner).toContain(`Dashboard             ${url}/`);
    expect(banner).toContain('OTA                   no signing key or release in the demo yet');
    expect(banner).toContain('npx outpost telemetry query demo-01 --metric temperature');

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Outpost</title>');

    const api = await login(url);
    const online = await waitFor(
      async () => {
        const { body } = await api('/devices?group=demo');
        const items = (body as { items: { id: string; online: boolean }[] }).items;
        return items.length === 2 && items.every((d) => d.online) ? items.map((d) => d.id).sort() : undefined;
      },
      { description: 'both demo devices online', timeoutMs: 30_000, intervalMs: 200, abortIf: exitedEarly },
    );
    expect(online).toEqual(['demo-01', 'demo-02']);
    for (const id of online) {
      const points = await waitFor(
        async () => {
          const { status, body } = await api(`/devices/${id}/telemetry?metric=temperature&from=${Date.now() - 600_000}`);
          const found = status === 200 ? (body as { points: { value: number }[] }).points : [];
          return found.length > 0 ? found : undefined;
        },
        { description: `temperature points of ${id}`, timeoutMs: 30_000, intervalMs: 250, abortIf: exitedEarly },
      );
      // The simulated cold room: 4 °C ± 3 (+ noise); the warm device 7.5 °C ± 3.
      for (const point of points) expect(point.value).toBeGreaterThan(0);
    }
    expect((await api('/rules/cold-room-warm')).body).toMatchObject({ id: 'cold-room-warm', kind: 'threshold', metric: 'temperature', threshold: 8, clearThreshold: 7, forMs: 30_000 });
    expect((await api('/rules/demo-device-silent')).body).toMatchObject({ kind: 'absence', absenceMs: 60_000 });

    const pid = demo.child.pid ?? 0;
    const agents = await agentChildren(pid);
    expect(agents).toHaveLength(2);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    for (const agent of agents) expect(isAlive(agent), `agent pid ${String(agent)} still runs`).toBe(false);

    // Second start on the same data dir: the same two devices, not enrolled again.
    const again = startDemo(dir, env, ['--devices', '2', '--interval', '1s']);
    await waitFor(() => again.stdout().includes(BANNER), {
      description: 'the demo banner (second start)',
      timeoutMs: serviceTimeoutMs(90_000),
      abortIf: () => (again.child.exitCode === null ? undefined : new Error(`second outpost demo exited with ${String(again.child.exitCode)}:\n${again.output().slice(-3000)}`)),
    });
    const api2 = await login(url);
    const devices = (await api2('/devices')).body as { items: { id: string }[] };
    expect(devices.items.map((d) => d.id).sort()).toEqual(['demo-01', 'demo-02']);
    // One enrollment token in all (the second start enrolled no one), and it cannot be used again.
    const tokens = (await api2('/enrollment-tokens')).body as { items: { group: string; state: string }[] };
    expect(tokens.items).toHaveLength(1);
    expect(tokens.items[0]).toMatchObject({ group: 'demo', state: expect.stringMatching(/^(revoked|used-up)$/) as unknown });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('refuses to start when a port is busy, naming the variable to set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [http, device, mqtt] = await findFreePorts(3);
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: mqtt }, resolve));
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const demo = startDemo(dir, {
      OUTPOST_HTTP_HOST: '127.0.0.1',
      OUTPOST_HTTP_PORT: String(http),
      OUTPOST_DEVICE_HOST: '127.0.0.1',
      OUTPOST_DEVICE_PORT: String(device),
      OUTPOST_MQTT_HOST: '127.0.0.1',
      OUTPOST_MQTT_PORT: String(mqtt),
    }, []);
    expect(await demo.exited).toBe(1);
    expect(demo.output()).toContain(`port ${String(mqtt)} on 127.0.0.1 is already in use`);
    expect(demo.output()).toContain(`OUTPOST_MQTT_PORT=<port>`);
  });
});
