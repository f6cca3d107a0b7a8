/**
 * `outpost demo` (what `npm start` runs) as a user runs it: a real process in a temp dir that
 * starts the platform and real `outpost-agent` processes; checked through the REST API, then
 * stopped with SIGINT (exit 0, no agent left behind), and started again on the same data dir
 * (the fleet is reused, not enrolled again).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePorts, serviceTimeoutMs, startInfluxd, waitFor } from '@outpost/e2e';

const run = promisify(execFile);
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
      // The one-file agent a device runs, with its launcher's memory flags.
      if (cmdline.some((arg) => arg.endsWith(join('edge-agent', 'dist', 'standalone', 'dist', 'src', 'main.js'))) && cmdline.includes('--lite-mode') && cmdline.includes('run')) pids.push(Number(entry));
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

type Api = ((path: string) => Promise<{ status: number; body: unknown }>) & { readonly token: string };

async function login(url: string): Promise<Api> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const answer = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: answer.status, body: (await answer.json()) as unknown };
  };
  return Object.assign(get, { token });
}

interface Rollout {
  readonly id: string;
  readonly artifactId: string;
  readonly state: string;
}

describe('outpost demo', () => {
  it('runs the platform with a fleet of real agents that trust its signing key and install its release, stops them all on SIGINT, and reuses fleet, key, release and rollout on the next start', { timeout: serviceTimeoutMs(240_000) }, async () => {
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

    const demo = startDemo(dir, env, ['--devices', '2', '--interval', '1s', '--rollout-soak', '1s']);
    const exitedEarly = (): Error | undefined => (demo.child.exitCode === null ? undefined : new Error(`outpost demo exited with ${String(demo.child.exitCode)}:\n${demo.output().slice(-3000)}`));
    await waitFor(() => demo.stdout().includes(BANNER), { description: 'the demo banner', timeoutMs: serviceTimeoutMs(90_000), abortIf: exitedEarly });
    const banner = demo.stdout();
    expect(banner).toContain(`${url}/api/docs`);
    expect(banner).toContain('the password from OUTPOST_ADMIN_PASSWORD');
    expect(banner).toMatch(/Devices \(group demo\)\s+demo-01 \(runs warm\), demo-02\n/);
    expect(banner).toContain('cold-room-warm');
    expect(banner).toContain(`Dashboard             ${url}/   (the fleet page`);
    expect(banner).toContain('Telemetry             embedded store');
    const keyId = /Signing key\s+\S+ \((sha256:[0-9a-f]{32}); every demo device trusts it\)/.exec(banner)?.[1];
    expect(keyId, banner).toBeDefined();
    const rolloutId = /Rollout\s+(\S+) \(draft\)/.exec(banner)?.[1] ?? '';
    expect(banner).toContain(`npx outpost rollouts resume ${rolloutId}`);
    expect(banner).toContain(`${url}/rollouts/${rolloutId}`);
    expect(banner).toMatch(/Release\s+demo-app 1\.1\.0 \(\S+\), signed, uploaded/);
    // The key sits in the data dir, private.
    const keyFile = join(dir, 'outpost-data', 'demo', 'ota', 'signing-key.pem');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const keyPem = await readFile(keyFile, 'utf8');
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

    // OTA: the key is the TrustSet, every device holds that set; the release is listed; the rollout waits as a draft.
    const keys = (await api('/signing-keys')).body as { keys: { keyId: string }[] };
    expect(keys.keys.map((k) => k.keyId)).toEqual([keyId]);
    for (const id of online) {
      const held = await waitFor(
        async () => {
          const text = await readFile(join(dir, 'outpost-data', 'demo', 'agents', id, 'trust.json'), 'utf8').catch(() => undefined);
          const set = text === undefined ? undefined : (JSON.parse(text) as { keys: { keyId: string }[] });
          return set !== undefined && set.keys.length > 0 ? set : undefined;
        },
        { description: `the TrustSet on ${id}`, timeoutMs: 30_000, intervalMs: 200, abortIf: exitedEarly },
      );
      expect(held.keys.map((k) => k.keyId)).toEqual([keyId]);
    }
    const firmware = (await api('/firmware')).body as { items: { id: string; name: string; version: string; keyId: string }[] };
    expect(firmware.items).toHaveLength(1);
    expect(firmware.items[0]).toMatchObject({ name: 'demo-app', version: '1.1.0', keyId });
    const rollouts = (await api('/rollouts')).body as { items: Rollout[] };
    expect(rollouts.items).toEqual([expect.objectContaining({ id: rolloutId, artifactId: firmware.items[0]?.id, state: 'draft' })]);

    // Started with the CLI, as the banner says: every demo device installs the release.
    await run(process.execPath, [CLI, 'rollouts', 'resume', rolloutId, '--server', url, '--token', api.token], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' } });
    const finished = await waitFor(
      async () => {
        const r = (await api(`/rollouts/${rolloutId}`)).body as Rollout;
        return ['succeeded', 'aborted', 'failed'].includes(r.state) || r.state === 'paused' ? r : undefined;
      },
      { description: 'the demo rollout finished', timeoutMs: serviceTimeoutMs(90_000), intervalMs: 500, abortIf: exitedEarly },
    );
    expect(finished.state).toBe('succeeded');
    for (const id of online) {
      // The device record shows it with the device's next status report.
      const firmware = await waitFor(
        async () => {
          const device = (await api(`/devices/${id}`)).body as { firmware: { name: string; version: string } | null };
          return device.firmware?.version === '1.1.0' ? device.firmware : undefined;
        },
        { description: `${id} reporting demo-app 1.1.0`, timeoutMs: 60_000, intervalMs: 500, abortIf: exitedEarly },
      );
      expect(firmware).toMatchObject({ name: 'demo-app', version: '1.1.0' });
      expect(await readFile(join(dir, 'outpost-data', 'demo', 'agents', id, 'apps', 'demo-app', 'current', 'app.txt'), 'utf8')).toContain('demo app 1.1.0');
    }

    const pid = demo.child.pid ?? 0;
    const agents = await agentChildren(pid);
    expect(agents).toHaveLength(2);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    for (const agent of agents) expect(isAlive(agent), `agent pid ${String(agent)} still runs`).toBe(false);

    // Second start on the same data dir: the same two devices, not enrolled again.
    const again = startDemo(dir, env, ['--devices', '2', '--interval', '1s', '--rollout-soak', '1s']);
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
    // The same key, release and rollout: nothing made twice, nothing refused.
    expect(await readFile(keyFile, 'utf8')).toBe(keyPem);
    expect(((await api2('/signing-keys')).body as { version: number; keys: { keyId: string }[] }).keys.map((k) => k.keyId)).toEqual([keyId]);
    expect(((await api2('/firmware')).body as { items: unknown[] }).items).toHaveLength(1);
    expect(((await api2('/rollouts')).body as { items: Rollout[] }).items).toEqual([expect.objectContaining({ id: rolloutId, state: 'succeeded' })]);
    expect(again.stdout()).toMatch(new RegExp(`Rollout\\s+${rolloutId} \\(succeeded\\)`));
    expect(again.output()).not.toContain('OTA                   not ready');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('sends the fleet\'s telemetry to InfluxDB when OUTPOST_INFLUX_URL is set', { timeout: serviceTimeoutMs(150_000) }, async () => {
    const influx = await startInfluxd({ startTimeoutMs: serviceTimeoutMs(30_000) });
    cleanups.push(() => influx.stop());
    const dir = await mkdtemp(join(tmpdir(), 'outpost-demo-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [http, device, mqtt] = await findFreePorts(3);
    const demo = startDemo(dir, {
      OUTPOST_HTTP_HOST: '127.0.0.1',
      OUTPOST_HTTP_PORT: String(http),
      OUTPOST_DEVICE_HOST: '127.0.0.1',
      OUTPOST_DEVICE_PORT: String(device),
      OUTPOST_MQTT_HOST: '127.0.0.1',
      OUTPOST_MQTT_PORT: String(mqtt),
      OUTPOST_PUBLIC_HOST: '127.0.0.1',
      OUTPOST_ADMIN_PASSWORD: PASSWORD,
      OUTPOST_LOG_LEVEL: 'warn',
      OUTPOST_INFLUX_URL: influx.url,
      OUTPOST_INFLUX_API: 'v1',
    }, ['--devices', '1', '--interval', '1s']);
    const exitedEarly = (): Error | undefined => (demo.child.exitCode === null ? undefined : new Error(`outpost demo exited with ${String(demo.child.exitCode)}:\n${demo.output().slice(-3000)}`));
    await waitFor(() => demo.stdout().includes(BANNER), { description: 'the demo banner', timeoutMs: serviceTimeoutMs(90_000), abortIf: exitedEarly });
    expect(demo.stdout()).toContain(`Telemetry             InfluxDB at ${influx.url}`);
    // The device's series lands in influxd's database (asked of influxd itself, not of the platform).
    const series = await waitFor(
      async () => {
        const res = await fetch(`${influx.url}/query?db=outpost&q=${encodeURIComponent('SHOW SERIES')}`);
        const text = await res.text();
        return res.status === 200 && text.includes('demo-01') ? text : undefined;
      },
      { description: 'demo-01 series in InfluxDB', timeoutMs: 30_000, intervalMs: 500, abortIf: exitedEarly },
    );
    expect(series).toContain('device=demo-01');
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
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
