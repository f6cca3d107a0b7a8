/**
 * Fault suite, item 5 (issue 16): the device's disk fills up. A real `outpost-agent run` keeps its
 * outbox (STATE_DIR/outbox) on a 1 MiB tmpfs; its server is SIGKILLed so batches pile up, then a
 * filler file takes the last byte. The agent must:
 * - keep running and collecting; what it cannot write is dropped and counted (status.json
 *   `outbox.dropped` / `droppedSamples`, the same figures as drops by the byte bound), with one
 *   warning, not one error per sample;
 * - store again as soon as there is room (the filler deleted), and send everything it held once its
 *   server is back.
 * Exact check, in the server's store: the agent's seeded collector says which value is the k-th
 * sample, so the stored values give the positions 1..n that arrived (n reaching the SIGTERM); the
 * positions missing are exactly `droppedSamples`, in whole batches, and only from the full-disk time.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statePaths } from '@outpost/edge-agent';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, startAgent, startOutpostServer, until, type AgentProcess, type OutpostServer } from '../agent-harness.js';
import {
  agentRunArgs,
  embeddedSamples,
  enrollAgent,
  expectedValues,
  FAULT_WAIT_MS,
  mountTmpfs,
  readStatus,
  removeDir,
  tokensOf,
  untilSending,
  writeAgentConfig,
  type SmallDisk,
} from './faults-kit.js';

const METRIC = 'fullval';
const SEED = 73;
const INTERVAL_MS = 50;
const BATCH = { maxSamples: 5, maxAgeMs: 250 };
const SLACK_MS = 500;

describe('fault suite: a full outbox disk on the device', () => {
  let dir: string | undefined;
  let disk: SmallDisk | undefined;
  let server: OutpostServer | undefined;
  let agent: AgentProcess | undefined;

  afterAll(async () => {
    if (agent !== undefined && agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await agent?.exited;
    await server?.stop();
    if (dir !== undefined) await removeDir(dir, disk === undefined ? [] : [disk]);
  }, FAULT_WAIT_MS * 2);

  it('drops and counts what it cannot write, keeps running, and stores again once there is room', async () => {
    server = await startOutpostServer();
    const s = server;
    dir = await mkdtemp(join(tmpdir(), 'outpost-faults-agent-disk-'));
    const stateDir = join(dir, 'state');
    const deviceId = await enrollAgent(tokensOf.api(await Api.login(s.info.url)), s.info.deviceUrl, stateDir);
    disk = await mountTmpfs(statePaths(stateDir).outbox, '1m');
    const config = join(dir, 'agent.json');
    await writeAgentConfig(config, SEED, METRIC, INTERVAL_MS, BATCH);
    const from = Date.now() - 1_000;
    const running = startAgent(agentRunArgs(stateDir, config));
    agent = running;
    await untilSending(stateDir, running.child.pid);

    await s.kill();
    await until('the outbox holding 4 batches', async () => ((await readStatus(stateDir))?.outbox.depth ?? 0) >= 4, FAULT_WAIT_MS);
    const fullAt = Date.now();
    const filled = await disk.fill();
    const full = await until('drops counted on the full disk', async () => {
      const status = await readStatus(stateDir);
      return status !== undefined && status.outbox.dropped >= 6 ? status : undefined;
    }, FAULT_WAIT_MS);
    expect(running.child.exitCode, running.output()).toBe(null);
    expect(full.outbox.droppedSamples ?? 0).toBeGreaterThanOrEqual(full.outbox.dropped);

    const freedAt = Date.now();
    await disk.free();
    // Room again: new batches are stored (the depth grows past what was held while full).
    await until('batches stored again after the filler went', async () => ((await readStatus(stateDir))?.outbox.depth ?? 0) >= full.outbox.depth + 4, FAULT_WAIT_MS);
    await s.restart();
    await until('the outbox drained', async () => {
      const status = await readStatus(stateDir);
      return status !== undefined && status.state === 'connected' && status.outbox.depth <= 1;
    }, FAULT_WAIT_MS);
    const stoppedAt = Date.now();
    expect(await running.stop(), running.output()).toBe(0);
    const final = await readStatus(stateDir);
    expect(final?.outbox.depth).toBe(0);
    const dropped = final?.outbox.dropped ?? 0;
    const droppedSamples = final?.outbox.droppedSamples ?? 0;
    expect(dropped).toBeGreaterThanOrEqual(full.outbox.dropped);
    expect(running.output().split('\n').filter((line) => line.includes('outbox disk full')).length, running.output()).toBeGreaterThanOrEqual(1);
    expect(running.output(), 'no error per sample').not.toContain('could not store');

    // The store: which positions of the collector's sequence arrived.
    let stored: { ts: number; value: number }[] = [];
    await until('the last samples stored', async () => {
      stored = await embeddedSamples(join(s.dir, 'data'), deviceId, METRIC, from);
      return stored.length > 0 && stoppedAt - (stored[stored.length - 1]?.ts ?? 0) <= SLACK_MS;
    }, FAULT_WAIT_MS).catch(() => undefined);
    const sequence = expectedValues(SEED, METRIC, INTERVAL_MS, Math.ceil((stoppedAt - from) / INTERVAL_MS) * 2 + 200);
    const position = new Map(sequence.map((value, k) => [value, k + 1]));
    const positions = stored.map((p) => position.get(p.value) ?? -1);
    expect(positions.filter((k) => k === -1), 'stored values that are not the collector\'s').toEqual([]);
    expect(positions.every((k, i) => i === 0 || k > (positions[i - 1] ?? 0)), 'stored in collection order, none twice').toBe(true);
    const last = positions[positions.length - 1] ?? 0;
    const missing = last - positions.length;
    // The gaps lie in the full-disk time only.
    const gapsAt = stored.filter((p, i) => i > 0 && (positions[i] ?? 0) - (positions[i - 1] ?? 0) > 1).map((p) => p.ts);
    console.info(
      `faults/agent-disk-full: filler ${filled} bytes; ${dropped} batches / ${droppedSamples} samples dropped and counted; ` +
        `${positions.length} of ${last} samples stored, ${missing} missing, in ${gapsAt.length} gap(s)`,
    );
    expect(missing).toBe(droppedSamples);
    expect(missing).toBeGreaterThan(0);
    for (const at of gapsAt) {
      expect(at).toBeGreaterThan(fullAt);
      expect(at).toBeLessThan(freedAt + 5_000);
    }
    expect(stoppedAt - (stored[stored.length - 1]?.ts ?? 0)).toBeLessThanOrEqual(SLACK_MS);
  }, 150_000);
});
