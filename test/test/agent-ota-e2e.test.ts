/*
 * OTA end to end, as an operator and a device live it: a real `outpost server` process, an agent
 * enrolled with a token, a signing key made and registered with `outpost keys`, an artifact signed
 * and uploaded with `outpost firmware`, a rollout created with `outpost rollouts`. The agent
 * downloads from the device listener (mTLS, per-device bandwidth bound so the test can catch it
 * mid-download), is SIGKILLed after its first verified chunk, resumes with Range on its next start,
 * installs into app slot a, and the rollout and the device's firmware say so through the API.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, SERVER_BIN, runAgent, startAgent, startOutpostServer, until } from './agent-harness.js';
import type { AgentProcess, OutpostServer } from './agent-harness.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;

interface RolloutDevice {
  readonly deviceId: string;
  readonly state: string;
}

describe('OTA from outpost firmware upload to the device, with a SIGKILL mid-download', () => {
  let server: OutpostServer;
  let api: Api;
  let dir: string;
  let stateDir: string;
  let deviceId = '';
  let agent: AgentProcess | undefined;
  let runArgs: string[];

  /** The operator CLI, as a child process: against the server, or offline (keys create, firmware sign). */
  async function outpost(args: readonly string[], offline = false): Promise<string> {
    try {
      const server_ = offline ? [] : ['--server', server.info.url, '--token', api.token];
      const { stdout } = await run(process.execPath, [SERVER_BIN, ...args, ...server_], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' } });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`outpost ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
    }
  }

  beforeAll(async () => {
    // 400 KiB/s per device: a 3 MiB artifact takes ~8 s, long enough to be caught mid-way.
    server = await startOutpostServer({ OUTPOST_OTA_DOWNLOAD_BYTES_PER_S: String(400 * 1024), OUTPOST_OTA_TICK: '1s' });
    api = await Api.login(server.info.url);
    dir = await mkdtemp(join(tmpdir(), 'outpost-ota-e2e-'));
    stateDir = join(dir, 'state');
    const config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 500, metrics: { t: { base: 20 } } }] }));
    runArgs = ['run', '--state-dir', stateDir, '--config', config, '--hardware', 'test-board', '--status-interval', '500ms', '--reconnect-min', '100ms', '--reconnect-max', '500ms', '--ota-retry-min', '200ms', '--ota-retry-max', '1s', '--flush-timeout', '2s'];
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('enrolls the device and makes it trust the operator key', async () => {
    const token = await api.ok<{ token: string; caFingerprint: string }>('POST', '/enrollment-tokens', { group: 'ota-e2e', maxUses: 1, ttlSeconds: 600 });
    const enrolled = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', token.token, '--ca-fingerprint', token.caFingerprint, '--state-dir', stateDir]);
    expect(enrolled.code).toBe(0);
    deviceId = /enrolled as (\S+)/.exec(enrolled.output)?.[1] ?? '';
    await outpost(['keys', 'create', '--out', join(dir, 'release.pem'), '--no-passphrase'], true);
    await outpost(['keys', 'register', '--key', join(dir, 'release.pem')]);
    agent = startAgent(runArgs);
    const trust = await until('the TrustSet on the device', async () => {
      const text = await readFile(join(stateDir, 'trust.json'), 'utf8').catch(() => undefined);
      const held = text === undefined ? undefined : (JSON.parse(text) as { keys: unknown[] });
      // Enrollment leaves the empty set; the registered key arrives as the next version.
      return held !== undefined && held.keys.length > 0 ? held : undefined;
    }, 20_000);
    expect(trust.keys).toHaveLength(1);
  }, 60_000);

  it('rolls an app out: downloaded, killed after a verified chunk, resumed by Range, installed, confirmed', async () => {
    const src = join(dir, 'app');
    await mkdir(src);
    await writeFile(join(src, 'app.txt'), 'app 1.0.0\n');
    await writeFile(join(src, 'blob.bin'), randomBytes(3 * MIB));
    await run('tar', ['-czf', join(dir, 'app.tgz'), '-C', src, '.']);
    await outpost(['firmware', 'sign', '--key', join(dir, 'release.pem'), '--name', 'e2e-app', '--version', '1.0.0', '--type', 'archive', '--hardware', 'test-board', '--health-cmd', 'test -f app.txt', '--health-attempts', '1', '--health-interval', '1', '--health-timeout', '5', join(dir, 'app.tgz'), '--out', join(dir, 'app.json')], true);
    await outpost(['firmware', 'upload', join(dir, 'app.tgz'), '--manifest', join(dir, 'app.json')]);
    const signed = JSON.parse(await readFile(join(dir, 'app.json'), 'utf8')) as { manifest: { id: string } };
    const artifacts = await api.ok<{ items: { id: string }[] }>('GET', '/firmware');
    const artifactId = artifacts.items.find((a) => a.id === signed.manifest.id)?.id ?? artifacts.items[0]?.id ?? '';
    await outpost(['rollouts', 'create', '--artifact', artifactId, '--devices', deviceId, '--soak', '1s', '--device-timeout', '2m', '--confirm-deadline', '1m']);
    const rollouts = await api.ok<{ items: { id: string }[] }>('GET', '/rollouts');
    const rolloutId = rollouts.items[0]?.id ?? '';

    // Caught after its first verified 1 MiB chunk: SIGKILL, as a power cut would.
    const staging = join(stateDir, 'ota', 'staging');
    await until('a verified chunk staged', async () => {
      for (const name of await readdir(staging).catch(() => [])) if (name.endsWith('.part') && (await stat(join(staging, name))).size >= MIB) return true;
      return false;
    }, 30_000);
    agent?.child.kill('SIGKILL');
    await agent?.exited;
    const firstRun = agent?.output() ?? '';
    expect(firstRun).toContain('OTA job received');
    expect(firstRun).not.toContain('artifact downloaded');
    agent = startAgent(runArgs);

    const done = await until('the device succeeded in the rollout', async () => {
      const devices = await api.ok<{ items: RolloutDevice[] }>('GET', `/rollouts/${rolloutId}/devices`);
      const mine = devices.items.find((d) => d.deviceId === deviceId);
      return mine !== undefined && ['succeeded', 'failed', 'rolled-back'].includes(mine.state) ? mine : undefined;
    }, 60_000);
    expect(done.state).toBe('succeeded');
    const downloaded = /"resumedFrom":(\d+)[^\n]*artifact downloaded|artifact downloaded[^\n]*"resumedFrom":(\d+)/.exec(agent.output());
    const resumedFrom = Number(downloaded?.[1] ?? downloaded?.[2] ?? -1);
    expect(resumedFrom).toBeGreaterThanOrEqual(MIB);
    expect(resumedFrom % MIB).toBe(0);
    expect(await readlink(join(stateDir, 'apps', 'e2e-app', 'current'))).toBe('a');
    expect(await readFile(join(stateDir, 'apps', 'e2e-app', 'current', 'app.txt'), 'utf8')).toBe('app 1.0.0\n');
    const device = await until('the device firmware in the API', async () => {
      const d = await api.ok<{ firmware: { name: string; version: string; slot: string } | null }>('GET', `/devices/${deviceId}`);
      return d.firmware?.version === '1.0.0' ? d : undefined;
    }, 20_000);
    expect(device.firmware).toEqual({ name: 'e2e-app', version: '1.0.0', slot: 'a' });
  }, 120_000);
});
