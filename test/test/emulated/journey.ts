/**
 * One emulated device's journey (issue 17): a real `outpost server` on loopback, the operator
 * CLI making a bundle that carries Node.js for the device's architecture, the system tar,
 * install.sh --root into a directory tree (enrolling against the server with the bundled
 * node under qemu), then the installed launcher running the installed agent on that node
 * until the platform has stored its telemetry, and a restart that keeps the identity.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { OutputTail, findFreePort, serviceTimeoutMs, waitFor } from '../../src/index.js';
import { emulatorFor, runtimeTarball, type EmulatedArch } from './emulated-device.js';

const OUTPOST = fileURLToPath(new URL('../../../platform/dist/src/cli/main.js', import.meta.url));
const PASSWORD = 'emulated-device-password';
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
/** Under emulation node starts in seconds, not milliseconds: every wait gets this long. */
export const EMULATED_TIMEOUT_MS = serviceTimeoutMs(120_000);

interface Device {
  id: string;
  group: string;
  online: boolean;
}

export interface JourneyOptions {
  readonly arch: EmulatedArch;
  /** The Node.js version the bundle carries (pinned, so the cached tarball is the one used). */
  readonly version: string;
  /** `server`: the server fetches the runtime (npm view + its verified cache); `tarball`: --runtime-tarball. */
  readonly via: 'server' | 'tarball';
}

export interface JourneyResult {
  readonly bundleBytes: number;
  readonly installMs: number;
  /** Launcher start to the device online, first start and after the restart. */
  readonly onlineMs: number;
  readonly restartOnlineMs: number;
  readonly samples: number;
}

async function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

export async function emulatedJourney(options: JourneyOptions): Promise<JourneyResult> {
  const { arch, version } = options;
  const journeyStarted = Date.now();
  const tarball = await runtimeTarball(arch, version);
  const emulator = await emulatorFor(arch);
  const work = await mkdtemp(join(tmpdir(), `outpost-emulated-${arch}-`));
  const children: ChildProcess[] = [];
  const serverOutput = new OutputTail(400);
  try {
    await mkdir(join(work, 'home'));
    const dataDir = join(work, 'server', 'outpost-data');
    await mkdir(join(dataDir, 'runtimes'), { recursive: true });
    // The server's runtime cache, seeded with what `npm pack` wrote: it still asks the registry
    // for the version's integrity and checks the file against it before using it.
    if (options.via === 'server') await copyFile(tarball, join(dataDir, 'runtimes', `node-linux-${arch}-${version}.tgz`));
    const mqttPort = await findFreePort();
    const server = spawn(process.execPath, [OUTPOST, 'server'], {
      cwd: join(work, 'server'),
      env: {
        PATH,
        HOME: join(work, 'home'),
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
    children.push(server);
    server.stdout?.on('data', (b: Buffer) => serverOutput.push('stdout', b));
    server.stderr?.on('data', (b: Buffer) => serverOutput.push('stderr', b));
    const operatorUrl = await waitFor(async () => /"operatorUrl":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(serverOutput.text())?.[1], {
      description: 'outpost server to log its operator URL',
      timeoutMs: EMULATED_TIMEOUT_MS,
      abortIf: () => (server.exitCode === null ? undefined : new Error(`outpost server exited ${server.exitCode}:\n${serverOutput.text()}`)),
    });
    const login = await fetch(`${operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    const adminToken = ((await login.json()) as { token: string }).token;
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${operatorUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
      if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as T;
    };
    const cli = (args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [OUTPOST, ...args], { encoding: 'utf8', env: { PATH, HOME: join(work, 'home'), OUTPOST_PASSWORD: PASSWORD }, timeout: EMULATED_TIMEOUT_MS * 2 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    // The bundle, with the runtime for the device.
    expect(cli(['login', '--server', operatorUrl]).code).toBe(0);
    const bundleFile = join(work, `pi-${arch}.tar.gz`);
    const runtimeArgs =
      options.via === 'server'
        ? ['--arch', arch, '--runtime-version', version]
        : ['--runtime-tarball', tarball, '--runtime-sha256', spawnSync('sha256sum', [tarball], { encoding: 'utf8' }).stdout.split(' ')[0] ?? ''];
    const made = cli(['agent', 'bundle', '--group', 'pis', '--out', bundleFile, '--allow-loopback', ...runtimeArgs]);
    expect(made.code, `${made.stdout}\n${made.stderr}\nserver:\n${serverOutput.text()}`).toBe(0);
    expect(made.stderr).toContain(`Node.js ${arch}@${version} inside`);
    const bundleBytes = (await stat(bundleFile)).size;

    const extracted = join(work, 'extracted');
    await mkdir(extracted);
    const untar = spawnSync('tar', ['-xzf', bundleFile, '-C', extracted], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    const runtimeInfo = JSON.parse(await readFile(join(extracted, 'outpost-bundle/runtime/runtime.json'), 'utf8')) as { arch: string; version: string };
    expect(runtimeInfo).toMatchObject({ arch, version });

    // install.sh --root: the bundled node (the host's own node is on PATH too: --runtime bundled).
    const root = join(work, 'root');
    await mkdir(root);
    const env = { PATH, OUTPOST_AGENT_EMULATOR: emulator };
    const installStarted = Date.now();
    const install = spawnSync('sh', [join(extracted, 'outpost-bundle/install.sh'), '--root', root, '--no-systemd', '--runtime', 'bundled'], { encoding: 'utf8', env, timeout: EMULATED_TIMEOUT_MS * 2 });
    const installMs = Date.now() - installStarted;
    expect(install.status, `${install.stdout}\n${install.stderr}\nserver:\n${serverOutput.text()}`).toBe(0);
    expect(install.stdout).toContain(`installed the bundle's Node.js ${version} (${arch}) into ${root}/opt/outpost-agent/runtime`);
    expect(install.stdout).toMatch(/enrolling with https:\/\/127\.0\.0\.1:\d+ into group pis/);
    const state = join(root, 'var/lib/outpost-agent');
    const identity = JSON.parse(await readFile(join(state, 'identity.json'), 'utf8')) as { deviceId: string };
    expect((await api<{ items: Device[] }>('/devices?group=pis')).items.map((d) => d.id)).toEqual([identity.deviceId]);

    // Telemetry every second, so the journey is short.
    await writeFile(join(state, 'agent.json'), JSON.stringify({ v: 1, collectors: [{ type: 'simulated', intervalMs: 1000, metrics: { t: { base: 20 } } }] }));
    const nodeBin = join(root, 'opt/outpost-agent/runtime/bin/node');
    const launch = (): { child: ChildProcess; output: OutputTail; started: number } => {
      const output = new OutputTail();
      const started = Date.now();
      const child = spawn('sh', [join(root, 'opt/outpost-agent/launcher'), '--root', root], { env: { ...env, OUTPOST_AGENT_NODE: nodeBin }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      child.stdout?.on('data', (b: Buffer) => output.push('stdout', b));
      child.stderr?.on('data', (b: Buffer) => output.push('stderr', b));
      return { child, output, started };
    };
    const untilOnline = async (run: ReturnType<typeof launch>): Promise<number> => {
      await waitFor(async () => ((await api<Device>(`/devices/${identity.deviceId}`)).online ? true : undefined), {
        description: `the emulated ${arch} device ${identity.deviceId} to be online`,
        timeoutMs: EMULATED_TIMEOUT_MS,
        intervalMs: 250,
        abortIf: () => (run.child.exitCode === null ? undefined : new Error(`the agent exited ${run.child.exitCode}:\n${run.output.text()}`)),
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\nagent:\n${run.output.text()}\nserver:\n${serverOutput.text()}`, { cause: err });
      });
      return Date.now() - run.started;
    };
    const storedSamples = async (): Promise<number> => {
      const answer = await api<{ points: { value: number }[] }>(`/devices/${identity.deviceId}/telemetry?metric=t&from=${journeyStarted - 3_600_000}&to=${Date.now() + 60_000}&every=1d&fn=count`);
      return answer.points.reduce((sum, p) => sum + p.value, 0);
    };

    const first = launch();
    const onlineMs = await untilOnline(first);
    // The launcher exec'd the bundled node (under qemu) with its small-heap flags.
    const cmdline = (await readFile(`/proc/${String(first.child.pid)}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).toEqual(expect.arrayContaining([nodeBin, '--max-old-space-size=32', '--lite-mode', join(root, 'opt/outpost-agent/a/dist/src/main.js')]));
    const before = await waitFor(async () => {
      const n = await storedSamples();
      return n >= 3 ? n : undefined;
    }, { description: '3 samples stored', timeoutMs: EMULATED_TIMEOUT_MS, intervalMs: 500 });
    expect(await stopChild(first.child)).toBe(0);

    // A restart: the same identity, no second enrollment, more telemetry.
    const second = launch();
    const restartOnlineMs = await untilOnline(second);
    const samples = await waitFor(async () => {
      const n = await storedSamples();
      return n >= before + 3 ? n : undefined;
    }, { description: '3 more samples after the restart', timeoutMs: EMULATED_TIMEOUT_MS, intervalMs: 500 });
    expect(JSON.parse(await readFile(join(state, 'identity.json'), 'utf8'))).toMatchObject({ deviceId: identity.deviceId });
    expect((await api<{ items: Device[] }>('/devices?group=pis')).items.map((d) => d.id)).toEqual([identity.deviceId]);
    expect(await stopChild(second.child)).toBe(0);
    return { bundleBytes, installMs, onlineMs, restartOnlineMs, samples };
  } finally {
    for (const child of children.reverse()) await stopChild(child).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
