/*
 * The agent updating itself, with real processes: install/launcher.sh starts the agent from slot
 * a of an install root (this workspace's build), an OtaJob of type `agent` (a .tar.gz of a slot:
 * the one-file agent of `npm run bundle` with another version in its package.json) arrives over
 * mosquitto, and the test plays systemd (Restart=always) by running the launcher again whenever
 * the agent exits. A good version confirms after its first CONNACK and reports `succeeded`; a
 * version that crashes at start is rolled back by the launcher after 3 starts, and the old
 * version reports `rolled-back` from STATE/rollback. As on a device, where the agent cannot write
 * /opt/outpost-agent, a third update goes through the root helper (install/helper.sh), the test
 * playing outpost-agent-helper.path. A fourth update starts while the broker is frozen (SIGSTOP)
 * past its confirmDeadlineS: the server is unreachable, not the version at fault, so it keeps its
 * slot, commits locally and reports `succeeded` once the broker answers again.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@outpost/protocol';
import type { OtaJob } from '@outpost/protocol';
import { startTestBroker } from '../runtime/mosquitto.js';
import type { TestBroker } from '../runtime/mosquitto.js';
import { jobFor, manifestFor, signer, startArtifactServer, trustSetOf, until } from './ota-kit.js';
import type { ArtifactServer } from './ota-kit.js';

const AGENT_DIR = fileURLToPath(new URL('../..', import.meta.url));
const LAUNCHER = join(AGENT_DIR, 'install', 'launcher.sh');
const STANDALONE = join(AGENT_DIR, 'dist', 'standalone');
const DEVICE = 'pi-self-update';
const WORKSPACE_VERSION = (JSON.parse(execFileSync('cat', [join(AGENT_DIR, 'package.json')]).toString()) as { version: string }).version;

interface Progress {
  readonly jobId: string;
  readonly state: string;
  readonly error?: { code: string; message: string };
}

/** A slot as a .tar.gz: the one-file agent with `version` in its package.json, or a main.js of our own. */
async function slotArchive(version: string, main?: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'ota-slot-'));
  try {
    const root = join(dir, 'slot');
    if (main === undefined) {
      await cp(STANDALONE, root, { recursive: true });
    } else {
      await mkdir(join(root, 'dist', 'src'), { recursive: true });
      await writeFile(join(root, 'dist', 'src', 'main.js'), main);
    }
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: '@outpost/edge-agent', version, type: 'module' }));
    execFileSync('tar', ['-czf', join(dir, 'slot.tar.gz'), '-C', root, '.']);
    return await readFile(join(dir, 'slot.tar.gz'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('an agent self-update through the launcher', () => {
  let broker: TestBroker;
  let platform: MqttClient;
  let server: ArtifactServer;
  let home: string;
  let root: string;
  let output = '';
  const running = new Set<ChildProcess>();
  const progress: Progress[] = [];
  const statuses: Record<string, unknown>[] = [];
  const ops = signer('key-ops');

  beforeAll(async () => {
    // The one-file agent of this build (what a device runs), refreshed so it holds the OTA code.
    execFileSync(process.execPath, [join(AGENT_DIR, 'scripts', 'bundle-agent.mjs')], { cwd: AGENT_DIR, stdio: 'ignore' });
    broker = await startTestBroker(DEVICE);
    await writeFile(join(broker.stateDir, 'trust.json'), JSON.stringify(trustSetOf(ops)));
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 1000, metrics: { t: { base: 20 } } }] }));
    root = join(broker.dir, 'root');
    home = join(root, 'opt', 'outpost-agent');
    await mkdir(home, { recursive: true });
    await symlink(AGENT_DIR, join(home, 'a'));
    await symlink('a', join(home, 'current'));
    const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(join(broker.dir, f), 'utf8')));
    server = await startArtifactServer({ ca: ca ?? '', cert: cert ?? '', key: key ?? '' });
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (topic === topics.otaProgress(DEVICE)) progress.push(body as unknown as Progress);
      if (topic === topics.status(DEVICE)) statuses.push(body);
    });
    await platform.subscribeAsync([topics.otaProgress(DEVICE), topics.status(DEVICE)], { qos: 1 });
  }, 60_000);

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await platform?.endAsync();
    await server?.close();
    await broker?.stop();
  });

  /** One start by "systemd": the launcher counts it, maybe rolls back, and runs the agent. */
  function launch(extra: readonly string[] = []): { child: ChildProcess; exited: Promise<number | null> } {
    const child = spawn(
      'sh',
      [LAUNCHER, '--root', root, '--state-dir', broker.stateDir, '--', '--agent-home', home, '--hardware', 'test-board', '--status-interval', '300ms', '--reconnect-min', '50ms', '--reconnect-max', '200ms', '--flush-timeout', '2s', ...extra],
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', OUTPOST_AGENT_NODE: process.execPath, OUTPOST_AGENT_MAX_BOOT_ATTEMPTS: '3' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  }

  const outcome = (jobId: string, timeoutMs = 30_000): Promise<Progress> =>
    until(`the outcome of ${jobId}`, () => progress.find((p) => p.jobId === jobId && ['succeeded', 'failed', 'rolled-back'].includes(p.state)), timeoutMs, () => output.slice(-5000));

  async function offer(version: string, main?: string, fields: Partial<OtaJob> = {}): Promise<OtaJob> {
    const bytes = await slotArchive(version, main);
    const manifest = manifestFor(bytes, { name: 'outpost-agent', version, type: 'agent' }, 256 * 1024);
    const job = jobFor(manifest, ops, server.put(manifest.id, bytes), fields);
    await platform.publishAsync(topics.otaJob(DEVICE), JSON.stringify(job), { qos: 1, retain: true });
    return job;
  }

  it('installs a new agent into slot b, restarts into it, and confirms it once connected', async () => {
    const first = launch();
    await until('the workspace agent online', () => statuses.find((s) => s['agentVersion'] === WORKSPACE_VERSION), 20_000, () => output.slice(-3000));
    const job = await offer('9.1.0');
    // Activated: current → b, then the agent exits for systemd to start the new version.
    expect(await first.exited).toBe(75);
    expect(await readlink(join(home, 'current'))).toBe('b');
    expect(progress.filter((p) => p.jobId === job.jobId).map((p) => p.state)).toContain('activating');
    launch();
    expect(await outcome(job.jobId)).toMatchObject({ state: 'succeeded' });
    await until('DeviceStatus of the new version', () => statuses.find((s) => s['agentVersion'] === '9.1.0' && (s['firmware'] as { slot?: string } | undefined)?.slot === 'b'));
    expect(statuses.find((s) => s['agentVersion'] === '9.1.0' && s['firmware'] !== undefined)?.['firmware']).toEqual({ name: 'outpost-agent', version: '9.1.0', slot: 'b' });
    expect((await readFile(join(broker.stateDir, 'boot-attempts'), 'utf8')).trim()).toBe('0');
  }, 90_000);

  it('a new version that crashes at start is rolled back by the launcher; the old one reports rolled-back', async () => {
    const job = await offer('9.2.0', "process.stderr.write('9.2.0 crashes at start\\n');\nprocess.exit(1);\n");
    const runningOld = [...running].find((c) => c.exitCode === null && c.signalCode === null);
    expect(runningOld).toBeDefined();
    await until('the old version to activate the new one and exit', () => runningOld?.exitCode === 75, 30_000, () => output.slice(-3000));
    expect(await readlink(join(home, 'current'))).toBe('a');
    // systemd starts it again and again: 3 crashes, then the launcher rolls back to slot b.
    for (let start = 1; start <= 3; start += 1) {
      const crash = launch();
      expect(await crash.exited).toBe(1);
    }
    expect(output).toContain('9.2.0 crashes at start');
    launch();
    expect(await outcome(job.jobId)).toMatchObject({ state: 'rolled-back', error: { code: 'OTA_CONFIRM_FAILED', message: expect.stringContaining('rolled back to slot b') } });
    expect(await readlink(join(home, 'current'))).toBe('b');
    await until('the rollback file consumed', async () => (await readFile(join(broker.stateDir, 'rollback'), 'utf8').catch(() => undefined)) === undefined);
    await until('DeviceStatus of the version rolled back to', () => statuses.slice(-3).find((s) => s['agentVersion'] === '9.1.0'));
  }, 120_000);

  it('through the root helper: the agent unpacks into STATE/ota/next-slot, the helper installs and switches', async () => {
    await writeFile(join(home, 'helper'), await readFile(join(AGENT_DIR, 'install', 'helper.sh')), { mode: 0o755 });
    const request = join(broker.stateDir, 'helper-request');
    const helperRuns: string[] = [];
    // outpost-agent-helper.path: a request file starts `helper run-request` as root.
    const pathUnit = setInterval(() => {
      if (!existsSync(request)) return;
      helperRuns.push(execFileSync('sh', [join(home, 'helper'), '--root', root, '--state-dir', broker.stateDir, 'run-request'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
    }, 50);
    try {
      const old = [...running].find((c) => c.exitCode === null && c.signalCode === null);
      old?.kill('SIGTERM');
      await until('the old agent stopped', () => old === undefined || old.exitCode !== null);
      const first = launch(['--agent-slots', 'helper']);
      await until('9.1.0 online again', () => statuses.slice(-2).find((s) => s['agentVersion'] === '9.1.0'), 20_000, () => output.slice(-3000));
      const job = await offer('9.3.0');
      expect(await first.exited).toBe(75);
      expect(await readlink(join(home, 'current'))).toBe('a');
      expect(JSON.parse(await readFile(join(home, 'a', 'package.json'), 'utf8'))).toMatchObject({ version: '9.3.0' });
      expect(existsSync(join(broker.stateDir, 'ota', 'next-slot'))).toBe(false);
      expect(existsSync(request)).toBe(false);
      launch(['--agent-slots', 'helper']);
      expect(await outcome(job.jobId)).toMatchObject({ state: 'succeeded' });
      await until('DeviceStatus of 9.3.0', () => statuses.find((s) => s['agentVersion'] === '9.3.0'));
    } finally {
      clearInterval(pathUnit);
    }
  }, 90_000);

  it('the broker unreachable past confirmDeadlineS: the new version keeps its slot, commits locally, and reports succeeded once the broker is back', async () => {
    const old = [...running].find((c) => c.exitCode === null && c.signalCode === null);
    old?.kill('SIGTERM');
    await until('the old agent stopped', () => old === undefined || old.exitCode !== null || old.signalCode !== null);
    const first = launch();
    await until('9.3.0 online again', () => statuses.slice(-2).find((s) => s['agentVersion'] === '9.3.0'), 20_000, () => output.slice(-3000));
    const job = await offer('9.4.0', undefined, { confirmDeadlineS: 2 });
    expect(await first.exited).toBe(75);
    expect(await readlink(join(home, 'current'))).toBe('b');
    // The server goes away before the new version starts, and stays away past its confirm deadline.
    broker.pause();
    let paused = true;
    try {
      const next = launch();
      const jobFile = join(broker.stateDir, 'ota', 'job.json');
      const committed = await until(
        'the update committed locally while the broker is unreachable',
        async () => {
          const record = JSON.parse((await readFile(jobFile, 'utf8').catch(() => undefined)) ?? '{}') as { job?: { jobId?: string }; phase?: string; outcome?: { state?: string }; reported?: boolean };
          return record.job?.jobId === job.jobId && record.phase === 'done' ? record : undefined;
        },
        60_000,
        () => output.slice(-3000),
      );
      expect(committed).toMatchObject({ outcome: { state: 'succeeded' }, reported: false });
      expect(output).toContain('the broker is unreachable at the confirm deadline');
      expect(next.child.exitCode).toBeNull();
      expect(await readlink(join(home, 'current'))).toBe('b');
      expect((await readFile(join(broker.stateDir, 'boot-attempts'), 'utf8')).trim()).toBe('0');
      broker.resume();
      paused = false;
      expect(await outcome(job.jobId, 60_000)).toMatchObject({ state: 'succeeded' });
      expect(progress.filter((p) => p.jobId === job.jobId).map((p) => p.state)).not.toContain('rolled-back');
      await until('DeviceStatus of 9.4.0 in slot b', () => statuses.find((s) => s['agentVersion'] === '9.4.0' && (s['firmware'] as { slot?: string } | undefined)?.slot === 'b'), 30_000);
      expect(await readlink(join(home, 'current'))).toBe('b');
      expect(next.child.exitCode).toBeNull();
      await until('the outcome marked reported', async () => (JSON.parse(await readFile(jobFile, 'utf8')) as { reported?: boolean }).reported === true);
    } finally {
      if (paused) broker.resume();
    }
  }, 150_000);
});
