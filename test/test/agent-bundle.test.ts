/*
 * The whole "put an agent on a device" path with real processes: an `outpost server`, the
 * operator CLI (`login`, `agent bundle`), the system tar, install.sh with --root (it enrolls
 * against the running server), and then the installed launcher running the installed agent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputTail, findFreePort, serviceTimeoutMs, waitFor } from '../src/index.js';

const OUTPOST = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));
const AGENT_MAIN = fileURLToPath(new URL('../../edge-agent/dist/src/main.js', import.meta.url));
const PASSWORD = 'bundle-e2e-password';
const TIMEOUT_MS = serviceTimeoutMs(20_000);
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;
/** The goal for the installed agent (issue 7: 25 MB with its node_modules); the one-file agent takes ~2 MB. */
const MAX_INSTALLED_BYTES = 25 * 1024 * 1024;

interface Device {
  id: string;
  group: string;
  online: boolean;
  status: string;
}

describe('an agent bundle from the CLI installs, enrolls and runs on a device', () => {
  let work: string;
  let server: ChildProcess;
  let serverOutput: OutputTail;
  let operatorUrl: string;
  let adminToken: string;
  const children: ChildProcess[] = [];

  const cli = (args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, [OUTPOST, ...args], {
      encoding: 'utf8',
      env: { PATH, HOME: join(work, 'home'), OUTPOST_PASSWORD: PASSWORD },
      timeout: TIMEOUT_MS,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${operatorUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-bundle-e2e-'));
    await mkdir(join(work, 'home'));
    await mkdir(join(work, 'server'));
    serverOutput = new OutputTail(400);
    // A fixed MQTT port: the enrollment answer's mqttUrl carries the configured port, and an
    // ephemeral one (0) is not known to the registry (reported to the lead).
    const mqttPort = await findFreePort();
    server = spawn(process.execPath, [OUTPOST, 'server'], {
      cwd: join(work, 'server'),
      env: {
        PATH,
        OUTPOST_HTTP_PORT: '0',
        OUTPOST_DEVICE_HOST: '127.0.0.1',
        OUTPOST_DEVICE_PORT: '0',
        OUTPOST_MQTT_HOST: '127.0.0.1',
        OUTPOST_MQTT_PORT: String(mqttPort),
        OUTPOST_PUBLIC_HOST: '127.0.0.1',
        OUTPOST_ADMIN_PASSWORD: PASSWORD,
        OUTPOST_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (b: Buffer) => serverOutput.push('stdout', b));
    server.stderr?.on('data', (b: Buffer) => serverOutput.push('stderr', b));
    operatorUrl = await waitFor(async () => /"operatorUrl":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(serverOutput.text())?.[1], {
      description: 'outpost server to log its operator URL',
      timeoutMs: TIMEOUT_MS,
      abortIf: () => (server.exitCode === null ? undefined : new Error(`outpost server exited ${server.exitCode}:\n${serverOutput.text()}`)),
    });
    const login = await fetch(`${operatorUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    adminToken = ((await login.json()) as { token: string }).token;
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a loopback public host unless --allow-loopback', () => {
    expect(cli(['login', '--server', operatorUrl]).code).toBe(0);
    const refused = cli(['agent', 'bundle', '--group', 'lab', '--out', join(work, 'refused.tar.gz')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: OUTPOST_PUBLIC_HOST is 127\.0\.0\.1, a loopback address.*\(BUNDLE_PUBLIC_HOST_LOOPBACK\)\n$/);
    expect(existsSync(join(work, 'refused.tar.gz'))).toBe(false);
  });

  it('installs from the bundle, enrolls with the real server, and the launcher brings the device online', async () => {
    const bundleFile = join(work, 'lab.tar.gz');
    const made = cli(['agent', 'bundle', '--group', 'lab', '--tag', 'site=e2e', '--out', bundleFile, '--allow-loopback']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^Wrote .*lab\.tar\.gz \([\d.]+ [KM]iB\): agent \S+ for group lab, server https:\/\/127\.0\.0\.1:\d+, token expires \S+Z \(one use\)\.\n$/);
    expect((await stat(bundleFile)).mode & 0o777).toBe(0o600);

    const extracted = join(work, 'extracted');
    await mkdir(extracted);
    const untar = spawnSync('tar', ['-xzf', bundleFile, '-C', extracted], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);

    const root = join(work, 'root');
    await mkdir(root);
    const install = spawnSync('sh', [join(extracted, 'outpost-bundle', 'install.sh'), '--root', root, '--no-systemd'], { encoding: 'utf8', env: { PATH }, timeout: TIMEOUT_MS });
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    expect(install.stdout).toContain('installed agent');
    expect(install.stdout).toMatch(/enrolling with https:\/\/127\.0\.0\.1:\d+ into group lab/);

    const state = join(root, 'var/lib/outpost-agent');
    const identity = JSON.parse(await readFile(join(state, 'identity.json'), 'utf8')) as { deviceId: string };
    const devices = await api<{ items: Device[] }>('/devices?group=lab');
    expect(devices.items.map((d) => [d.id, d.group, d.status])).toEqual([[identity.deviceId, 'lab', 'active']]);
    expect(((await stat(join(state, 'key.pem'))).mode & 0o777)).toBe(0o600);

    // Installed: the one-file agent (issue 12), no node_modules.
    expect(existsSync(join(root, 'opt/outpost-agent/a/dist/src/main.js'))).toBe(true);
    expect(existsSync(join(root, 'opt/outpost-agent/a/node_modules'))).toBe(false);
    const du = spawnSync('du', ['-sb', join(root, 'opt/outpost-agent')], { encoding: 'utf8' });
    const installedBytes = Number(du.stdout.split('\t')[0]);
    expect(installedBytes).toBeGreaterThan(0);
    expect(installedBytes).toBeLessThanOrEqual(MAX_INSTALLED_BYTES);
    const onDisk = spawnSync('du', ['-sh', join(root, 'opt/outpost-agent')], { encoding: 'utf8' }).stdout.split('\t')[0];
    console.log(`installed agent: ${(installedBytes / 1024 / 1024).toFixed(1)} MiB of files, ${onDisk} on disk (du -sh) in ${join(root, 'opt/outpost-agent')}`);

    // A second install with the same bundle: nothing to do, no second enrollment.
    const again = spawnSync('sh', [join(extracted, 'outpost-bundle', 'install.sh'), '--root', root, '--no-systemd'], { encoding: 'utf8', env: { PATH }, timeout: TIMEOUT_MS });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`already enrolled as ${identity.deviceId}`);
    expect(again.stdout).toContain('nothing to do');

    // The token was for one device only.
    const manifest = JSON.parse(await readFile(join(extracted, 'outpost-bundle', 'bundle.json'), 'utf8')) as { server: string; token: string };
    const reuse = spawnSync(
      process.execPath,
      [AGENT_MAIN, 'enroll', '--server', manifest.server, '--token', manifest.token, '--ca', join(extracted, 'outpost-bundle', 'ca.pem'), '--state-dir', join(work, 'second-device')],
      { encoding: 'utf8', env: { PATH }, timeout: TIMEOUT_MS },
    );
    expect(reuse.status).not.toBe(0);
    expect(`${reuse.stdout}${reuse.stderr}`).toContain('ENROLL_TOKEN_USED_UP');

    // Start it the way systemd does: the installed launcher, which runs the installed agent.
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    const agentOutput = new OutputTail();
    const agent = spawn('sh', [join(root, 'opt/outpost-agent/launcher'), '--root', root], { env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agent);
    agent.stdout?.on('data', (b: Buffer) => agentOutput.push('stdout', b));
    agent.stderr?.on('data', (b: Buffer) => agentOutput.push('stderr', b));
    const online = await waitFor(
      async () => {
        const device = await api<Device>(`/devices/${identity.deviceId}`);
        return device.online ? device : undefined;
      },
      {
        description: `device ${identity.deviceId} to be online`,
        timeoutMs: TIMEOUT_MS,
        intervalMs: 200,
        abortIf: () => (agent.exitCode === null ? undefined : new Error(`the agent exited ${agent.exitCode}:\n${agentOutput.text()}`)),
      },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nagent:\n${agentOutput.text()}\nserver:\n${serverOutput.text()}`, { cause: err });
    });
    expect(online).toMatchObject({ id: identity.deviceId, group: 'lab', online: true });
    // The launcher exec'd node with its small-heap flags.
    const cmdline = (await readFile(`/proc/${String(agent.pid)}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--max-old-space-size=32', join(root, 'opt/outpost-agent/a/dist/src/main.js')]));
    // Connected and running: the agent marks itself healthy, so the launcher's count is back at 0.
    await waitFor(async () => ((await readFile(join(state, 'boot-attempts'), 'utf8')).trim() === '0' ? true : undefined), {
      description: 'the agent to reset boot-attempts',
      timeoutMs: TIMEOUT_MS,
    });

    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, TIMEOUT_MS * 4);
});
