/*
 * The OTA fault matrix on a real agent process: OtaJobs published retained on `ota/job` through
 * a real MQTT broker (mosquitto, mTLS), artifacts signed with Ed25519 and served over HTTPS with
 * Range (ota-kit.ts), every outcome asserted through the OtaProgress the agent publishes and the
 * app slots it leaves. The agent is SIGKILLed during the download, during the install and after
 * activation; the broker is frozen at commit time.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@outpost/protocol';
import type { Manifest, OtaJob } from '@outpost/protocol';
import { startTestBroker } from '../runtime/mosquitto.js';
import type { TestBroker } from '../runtime/mosquitto.js';
import { jobFor, manifestFor, signer, startArtifactServer, tarGz, trustSetOf, until } from './ota-kit.js';
import type { ArtifactServer } from './ota-kit.js';

const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const DEVICE = 'pi-ota-test';
const CHUNK = 4096;

interface Progress {
  readonly jobId: string;
  readonly state: string;
  readonly percent?: number;
  readonly bytes?: number;
  readonly error?: { code: string; message: string };
}

describe('OTA on a real agent process', () => {
  let broker: TestBroker;
  let platform: MqttClient;
  let server: ArtifactServer;
  let agent: { child: ChildProcess; exited: Promise<unknown> } | undefined;
  let output = '';
  const progress: Progress[] = [];
  const statuses: Record<string, unknown>[] = [];
  const ops = signer('key-ops');
  const stranger = signer('key-stranger');
  let slowBin: string;

  beforeAll(async () => {
    broker = await startTestBroker(DEVICE);
    await writeFile(join(broker.stateDir, 'trust.json'), JSON.stringify(trustSetOf(ops)));
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 1000, metrics: { t: { base: 20 } } }] }));
    const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(join(broker.dir, f), 'utf8')));
    server = await startArtifactServer({ ca: ca ?? '', cert: cert ?? '', key: key ?? '' });
    // A `tar` that takes its time, so a test can kill the agent while it installs.
    slowBin = join(broker.dir, 'slow-bin');
    await mkdir(slowBin);
    await writeFile(join(slowBin, 'tar'), '#!/bin/sh\nsleep 5\nexec /usr/bin/env -i PATH=/usr/bin:/bin tar "$@"\n', { mode: 0o755 });
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (topic === topics.otaProgress(DEVICE)) progress.push(body as unknown as Progress);
      if (topic === topics.status(DEVICE)) statuses.push(body);
    });
    await platform.subscribeAsync([topics.otaProgress(DEVICE), topics.status(DEVICE)], { qos: 1 });
    startAgent();
  });

  afterAll(async () => {
    await killAgent();
    await platform?.endAsync();
    await server?.close();
    await broker?.stop();
  });

  function startAgent(path = process.env['PATH'] ?? '/usr/bin:/bin'): void {
    const child = spawn(
      process.execPath,
      [AGENT_BIN, 'run', '--state-dir', broker.stateDir, '--hardware', 'test-board', '--agent-home', join(broker.dir, 'no-agent-home'), '--status-interval', '300ms', '--reconnect-min', '50ms', '--reconnect-max', '200ms', '--ota-retry-min', '100ms', '--ota-retry-max', '300ms', '--flush-timeout', '1s'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: path } },
    );
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    agent = { child, exited: new Promise((r) => child.once('close', r)) };
  }

  async function killAgent(): Promise<void> {
    const running = agent;
    agent = undefined;
    if (running === undefined) return;
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    await running.exited;
  }

  const appDir = join('apps', 'sensor-app');
  const current = async (): Promise<string | undefined> => readlink(join(broker.stateDir, appDir, 'current')).catch(() => undefined);
  const states = (jobId: string): string[] => progress.filter((p) => p.jobId === jobId).map((p) => p.state);
  const requestsFor = (id: string) => server.requests.filter((r) => r.path === `/fw/${id}`);

  async function publish(job: OtaJob): Promise<void> {
    await platform.publishAsync(topics.otaJob(DEVICE), JSON.stringify(job), { qos: 1, retain: true });
  }

  async function outcome(jobId: string, timeoutMs = 15_000): Promise<Progress> {
    return until(`the outcome of ${jobId}`, () => progress.find((p) => p.jobId === jobId && ['succeeded', 'failed', 'rolled-back'].includes(p.state)), timeoutMs, () => output.slice(-4000));
  }

  async function appArtifact(version: string, fields: Partial<Manifest> = {}, size = 20 * CHUNK): Promise<{ manifest: Manifest; bytes: Buffer; url: string }> {
    const bytes = await tarGz({ 'app.txt': `sensor-app ${version}\n`, 'blob.bin': randomBytes(size) });
    const manifest = manifestFor(bytes, {
      name: 'sensor-app',
      version,
      activate: { cmd: 'echo activated > activated', timeoutS: 5 },
      healthCheck: { cmd: 'test -f app.txt && test -f activated', timeoutS: 5, intervalS: 1, attempts: 2 },
      ...fields,
    }, CHUNK);
    return { manifest, bytes, url: server.put(manifest.id, bytes) };
  }

  it('refuses a manifest signed by an unknown key before downloading anything', async () => {
    const { manifest, url } = await appArtifact('1.0.0');
    const job = jobFor(manifest, stranger, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'failed', error: { code: 'OTA_KEY_UNKNOWN', message: expect.stringContaining('key-stranger') } });
    expect(requestsFor(manifest.id)).toEqual([]);
  });

  it('refuses an artifact for other hardware', async () => {
    const { manifest, url } = await appArtifact('1.0.0', { hardware: ['raspberrypi3'] });
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'failed', error: { code: 'OTA_HARDWARE_MISMATCH' } });
    expect(requestsFor(manifest.id)).toEqual([]);
  });

  it('refuses before downloading when the disk cannot hold the artifact', async () => {
    const { manifest: real, url } = await appArtifact('1.0.0');
    const { chunks: _chunks, chunkSize: _size, ...rest } = real;
    const manifest: Manifest = { ...rest, size: 2 ** 50 };
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'failed', error: { code: 'OTA_DISK_FULL', message: expect.stringContaining('nothing downloaded') } });
    expect(requestsFor(manifest.id)).toEqual([]);
  });

  it('installs an app into slot a: every state in order, activated, health-checked, reported with its firmware', async () => {
    const { manifest, url } = await appArtifact('1.0.0');
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'succeeded' });
    const seen = [...new Set(states(job.jobId))];
    expect(seen).toEqual(['queued', 'downloading', 'verifying', 'installing', 'activating', 'health-checking', 'succeeded']);
    const last = progress.filter((p) => p.jobId === job.jobId && p.state === 'downloading').at(-1);
    expect(last).toMatchObject({ percent: 100, bytes: manifest.size });
    expect(await current()).toBe('a');
    expect(await readFile(join(broker.stateDir, appDir, 'current', 'app.txt'), 'utf8')).toBe('sensor-app 1.0.0\n');
    await until('DeviceStatus with the firmware', () => statuses.find((s) => (s['firmware'] as { version?: string } | undefined)?.version === '1.0.0'));
    expect(statuses.find((s) => s['firmware'] !== undefined)?.['firmware']).toEqual({ name: 'sensor-app', version: '1.0.0', slot: 'a' });
    // The staging file is gone.
    await expect(stat(join(broker.stateDir, 'ota', 'staging', `${job.jobId}.part`))).rejects.toThrow();
    // `outpost-agent status` shows it (from status.json, written every 300 ms).
    const shown = await until('status with the firmware', () => {
      const text = execFileSync(process.execPath, [AGENT_BIN, 'status', '--state-dir', broker.stateDir]).toString();
      return text.includes('firmware      sensor-app 1.0.0 (slot a)') && text.includes(`ota           job ${job.jobId}: sensor-app 1.0.0 — succeeded`) ? text : undefined;
    });
    expect(shown).toContain('agent         running');
  });

  it('answers the same job again with its outcome, without running it twice', async () => {
    const done = progress.filter((p) => p.state === 'succeeded').at(-1);
    const job = JSON.parse(JSON.stringify(done)) as Progress;
    const mark = progress.length;
    const downloads = requestsFor('sensor-app-1.0.0').length;
    // Restarting the agent re-delivers the retained job.
    await killAgent();
    startAgent();
    await until('the outcome again', () => progress.slice(mark).find((p) => p.jobId === job.jobId && p.state === 'succeeded'));
    expect(progress.slice(mark).filter((p) => p.jobId === job.jobId).map((p) => p.state)).toEqual(['succeeded']);
    expect(requestsFor('sensor-app-1.0.0')).toHaveLength(downloads);
  });

  it('refuses a downgrade', async () => {
    const { manifest, url } = await appArtifact('0.9.0');
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'failed', error: { code: 'OTA_DOWNGRADE_REFUSED' } });
    expect(requestsFor(manifest.id)).toEqual([]);
  });

  it('rolls back to the previous slot when the health check fails', async () => {
    const { manifest, url } = await appArtifact('1.1.0', { healthCheck: { cmd: 'echo sick; exit 3', timeoutS: 5, intervalS: 1, attempts: 2 } });
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'rolled-back', error: { code: 'OTA_HEALTH_CHECK_FAILED', message: expect.stringContaining('sick') } });
    expect(states(job.jobId)).toContain('health-checking');
    expect(await current()).toBe('a');
    expect(await readFile(join(broker.stateDir, appDir, 'current', 'app.txt'), 'utf8')).toBe('sensor-app 1.0.0\n');
  });

  it('refuses a flipped byte at its chunk', async () => {
    const { manifest, bytes } = await appArtifact('1.2.0');
    const bad = Buffer.from(bytes);
    bad[CHUNK * 3 + 5] = (bad[CHUNK * 3 + 5] ?? 0) ^ 0x01;
    const url = server.put(manifest.id, bad);
    const job = jobFor(manifest, ops, url);
    await publish(job);
    expect(await outcome(job.jobId)).toMatchObject({ state: 'failed', error: { code: 'OTA_CHUNK_MISMATCH', message: expect.stringContaining('chunk 3 ') } });
    expect(await current()).toBe('a');
    await expect(stat(join(broker.stateDir, 'ota', 'staging', `${job.jobId}.part`))).rejects.toThrow();
  });

  it('SIGKILL during the download: the next start resumes with a Range request from the last verified chunk', async () => {
    const { manifest, url } = await appArtifact('1.3.0');
    const job = jobFor(manifest, ops, url);
    server.holdAt(CHUNK * 6 + 100);
    await publish(job);
    await until('6 chunks downloaded', () => progress.find((p) => p.jobId === job.jobId && p.state === 'downloading' && (p.bytes ?? 0) >= CHUNK * 6), 15_000, () => output.slice(-3000));
    await killAgent();
    server.release();
    startAgent();
    expect(await outcome(job.jobId)).toMatchObject({ state: 'succeeded' });
    const seen = requestsFor(manifest.id);
    expect(seen[0]?.range).toBeUndefined();
    expect(seen[1]?.range).toBe(`bytes=${CHUNK * 6}-`);
    expect(seen).toHaveLength(2);
    expect(await current()).toBe('b');
  });

  it('SIGKILL during the install: the next start verifies the staged file and installs it, without downloading again', async () => {
    const { manifest, url } = await appArtifact('1.4.0');
    const job = jobFor(manifest, ops, url);
    await killAgent();
    startAgent(`${slowBin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`);
    await publish(job);
    await until('the install to start', () => states(job.jobId).includes('installing'), 15_000, () => output.slice(-3000));
    await killAgent();
    expect(await current()).toBe('b');
    startAgent();
    expect(await outcome(job.jobId)).toMatchObject({ state: 'succeeded' });
    expect(requestsFor(manifest.id)).toHaveLength(1);
    expect(await current()).toBe('a');
    expect(await readFile(join(broker.stateDir, appDir, 'current', 'app.txt'), 'utf8')).toBe('sensor-app 1.4.0\n');
  });

  it('SIGKILL after activation, before the health check passed: the next start rolls back', async () => {
    const { manifest, url } = await appArtifact('1.5.0', { healthCheck: { cmd: 'sleep 30', timeoutS: 60, intervalS: 1, attempts: 1 } });
    const job = jobFor(manifest, ops, url);
    await publish(job);
    await until('the health check to run', () => states(job.jobId).includes('health-checking'), 15_000, () => output.slice(-3000));
    expect(await current()).toBe('b');
    await killAgent();
    startAgent();
    expect(await outcome(job.jobId)).toMatchObject({ state: 'rolled-back', error: { code: 'OTA_INTERRUPTED' } });
    expect(await current()).toBe('a');
    expect(await readFile(join(broker.stateDir, appDir, 'current', 'app.txt'), 'utf8')).toBe('sensor-app 1.4.0\n');
  });

  it('the server unreachable at commit time: the new version stays, the outcome is reported once it is back', async () => {
    const flag = join(broker.dir, 'healthy-now');
    const { manifest, url } = await appArtifact('1.6.0', { healthCheck: { cmd: `while [ ! -f ${flag} ]; do sleep 0.05; done`, timeoutS: 30, intervalS: 1, attempts: 1 } });
    const job = jobFor(manifest, ops, url);
    await publish(job);
    await until('the health check to run', () => states(job.jobId).includes('health-checking'), 15_000, () => output.slice(-3000));
    broker.pause();
    try {
      await writeFile(flag, '');
      const record = await until('the local commit', async () => {
        const r = JSON.parse(await readFile(join(broker.stateDir, 'ota', 'job.json'), 'utf8')) as { job: { jobId: string }; phase: string; outcome?: { state: string }; reported?: boolean };
        return r.job.jobId === job.jobId && r.phase === 'done' ? r : undefined;
      });
      expect(record).toMatchObject({ outcome: { state: 'succeeded' }, reported: false });
      expect(await current()).toBe('b');
      // A power cut while the server is away.
      await killAgent();
    } finally {
      broker.resume();
    }
    startAgent();
    expect(await outcome(job.jobId, 20_000)).toMatchObject({ state: 'succeeded' });
    expect(await current()).toBe('b');
    await until('the outcome marked reported', async () => {
      const r = JSON.parse(await readFile(join(broker.stateDir, 'ota', 'job.json'), 'utf8')) as { reported?: boolean };
      return r.reported === true;
    });
  });
});
