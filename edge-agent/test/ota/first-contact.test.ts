/*
 * A device that meets its first TrustSet and an OtaJob in the same connection (both retained,
 * e.g. enrolled into a group whose rollout already runs): the job is checked against the keys
 * that set brings, not refused for an empty trust.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@outpost/protocol';
import { startTestBroker } from '../runtime/mosquitto.js';
import type { TestBroker } from '../runtime/mosquitto.js';
import { jobFor, manifestFor, signer, startArtifactServer, tarGz, until } from './ota-kit.js';
import type { ArtifactServer } from './ota-kit.js';

const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const DEVICE = 'pi-first-contact';

describe('first contact: a TrustSet and an OtaJob on the same connection', () => {
  let broker: TestBroker;
  let platform: MqttClient;
  let server: ArtifactServer;
  let agent: ChildProcess | undefined;
  let output = '';
  const progress: { jobId: string; state: string; error?: { code: string } }[] = [];

  beforeAll(async () => {
    broker = await startTestBroker(DEVICE);
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 1000, metrics: { t: { base: 20 } } }] }));
    const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(join(broker.dir, f), 'utf8')));
    server = await startArtifactServer({ ca: ca ?? '', cert: cert ?? '', key: key ?? '' });
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload) => {
      if (topic === topics.otaProgress(DEVICE)) progress.push(JSON.parse(payload.toString()) as (typeof progress)[number]);
    });
    await platform.subscribeAsync(topics.otaProgress(DEVICE), { qos: 1 });
  });

  afterAll(async () => {
    if (agent !== undefined && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent?.once('close', r));
    }
    await platform?.endAsync();
    await server?.close();
    await broker?.stop();
  });

  it('installs the job signed by a key of the set that came with it', async () => {
    const ops = signer('key-ops');
    const trust = { v: 1 as const, version: 1, keys: [ops.entry] };
    await platform.publishAsync(topics.trust(DEVICE), JSON.stringify({ ...trust, signatures: [] }), { qos: 1, retain: true });
    const bytes = await tarGz({ 'app.txt': 'first\n', 'blob.bin': randomBytes(40_000) });
    const manifest = manifestFor(bytes, { name: 'first-app', version: '1.0.0' });
    const job = jobFor(manifest, ops, server.put(manifest.id, bytes));
    await platform.publishAsync(topics.otaJob(DEVICE), JSON.stringify(job), { qos: 1, retain: true });
    agent = spawn(process.execPath, [AGENT_BIN, 'run', '--state-dir', broker.stateDir, '--hardware', 'test-board', '--reconnect-min', '50ms', '--reconnect-max', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    agent.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const done = await until('the outcome', () => progress.find((p) => p.jobId === job.jobId && ['succeeded', 'failed', 'rolled-back'].includes(p.state)), 15_000, () => output.slice(-3000));
    expect(done).toMatchObject({ state: 'succeeded' });
    expect(await readlink(join(broker.stateDir, 'apps', 'first-app', 'current'))).toBe('a');
  });
});
