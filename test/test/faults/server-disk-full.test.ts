/**
 * Fault suite, item 6 (issue 16): the server's disk fills up. The ingest spool of a real `outpost
 * server` (DATA_DIR/spool) lives on a 2 MiB tmpfs; while raw QoS 1 devices and a real agent send,
 * a filler file takes the last byte. Then:
 * - the server acknowledges nothing more (a batch it cannot make durable gets no PUBACK: the broker
 *   disconnects the device, SPEC "MQTT"), and keeps running;
 * - the devices keep their batches: the agent's outbox grows, mqtt.js holds the unacknowledged;
 * - once the filler is deleted, everything is acknowledged and stored: InfluxDB holds exactly the
 *   raw devices' batches, and exactly the agent's samples 1..n in order (its seeded collector says
 *   which value is the k-th), n reaching its SIGTERM; its outbox ends empty, nothing dropped.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, startInfluxd, waitFor, type InfluxdHandle } from '@outpost/e2e';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, until, type AgentProcess, type OutpostServer } from '../agent-harness.js';
import {
  agentRunArgs,
  enrollAgent,
  expectedValues,
  FAULT_WAIT_MS,
  influxCounts,
  influxSamples,
  mountTmpfs,
  readStatus,
  removeDir,
  startInfluxServer,
  startQosDevices,
  tokensOf,
  untilSending,
  writeAgentConfig,
  type QosDevices,
  type SmallDisk,
} from './faults-kit.js';

const DEVICES = 2;
const BATCHES = 200;
const SAMPLES = 5;
const METRIC = 'diskval';
const SEED = 61;
const INTERVAL_MS = 50;
/** How long before its SIGTERM the agent's newest stored sample may have been collected. */
const SLACK_MS = 500;

describe('fault suite: a full server disk', () => {
  let dir: string | undefined;
  let disk: SmallDisk | undefined;
  let influx: InfluxdHandle | undefined;
  let server: OutpostServer | undefined;
  let devices: QosDevices | undefined;
  let agent: AgentProcess | undefined;

  afterAll(async () => {
    if (agent !== undefined && agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await agent?.exited;
    await devices?.close();
    await server?.stop();
    await influx?.stop();
    if (dir !== undefined) await removeDir(dir, disk === undefined ? [] : [disk]);
  }, FAULT_WAIT_MS * 2);

  it('withholds PUBACKs while the spool disk is full, loses nothing acknowledged, and recovers when space returns', async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-faults-server-disk-'));
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    disk = await mountTmpfs(join(dataDir, 'spool'), '2m');
    influx = await startInfluxd();
    server = await startInfluxServer(influx, { OUTPOST_DATA_DIR: dataDir });
    const s = server;

    const stateDir = join(dir, 'agent');
    const deviceId = await enrollAgent(tokensOf.admin(await adminApi(s.info.url)), s.info.deviceUrl, stateDir);
    const config = join(dir, 'agent.json');
    await writeAgentConfig(config, SEED, METRIC, INTERVAL_MS, { maxSamples: 5, maxAgeMs: 250 });
    agent = startAgent(agentRunArgs(stateDir, config));
    await untilSending(stateDir, agent.child.pid);
    devices = await startQosDevices(s, { devices: DEVICES, batchesPerDevice: BATCHES, samplesPerBatch: SAMPLES, window: 2 });
    const qos = devices;
    await until('a quarter of the batches acknowledged', () => qos.acked() >= (DEVICES * BATCHES) / 4, FAULT_WAIT_MS);

    const filled = await disk.fill();
    await until('the server refusing to acknowledge what it cannot store', () => s.tail().includes('could not be stored'), FAULT_WAIT_MS);
    // tmpfs allocates whole pages: after the first refusal, a smaller batch may still fit the slack of
    // the spool file's last page, be made durable and acknowledged (CI saw one). Once the agent holds
    // 4 batches the slack is spent; from there the disk is full for every batch.
    await until('the agent holding 4 more batches', async () => {
      const status = await readStatus(stateDir);
      return status !== undefined && status.outbox.depth >= 4 ? true : undefined;
    }, FAULT_WAIT_MS);
    const ackedAtFull = qos.acked();
    // The agent keeps collecting into its outbox meanwhile.
    const fullDepth = await until('the agent holding 8 more batches', async () => {
      const status = await readStatus(stateDir);
      return status !== undefined && status.outbox.depth >= 8 ? status.outbox.depth : undefined;
    }, FAULT_WAIT_MS);
    const ackedWhileFull = qos.acked() - ackedAtFull;
    expect(agent.child.exitCode, agent.output()).toBe(null);
    expect(s.tail()).not.toMatch(/uncaught|FATAL/i);

    await disk.free();
    await qos.done;
    expect(qos.acked()).toBe(DEVICES * BATCHES);
    await until('the agent drained', async () => {
      const status = await readStatus(stateDir);
      return status !== undefined && status.state === 'connected' && status.outbox.depth <= 1;
    }, FAULT_WAIT_MS);
    const stoppedAt = Date.now();
    expect(await agent.stop(), agent.output()).toBe(0);
    expect(await readStatus(stateDir)).toMatchObject({ state: 'stopped', outbox: { depth: 0, dropped: 0, refused: 0 } });

    const url = influx.url;
    const counts = await waitFor(
      async () => {
        const now = await influxCounts(url);
        return qos.ids.every((id) => (now.get(id) ?? 0) >= BATCHES * SAMPLES) ? now : undefined;
      },
      { description: 'every raw batch in InfluxDB', timeoutMs: FAULT_WAIT_MS, intervalMs: 200 },
    ).catch(() => influxCounts(url));
    let stored: { ts: number; value: number }[] = [];
    await waitFor(
      async () => {
        stored = await influxSamples(url, deviceId, METRIC);
        return stored.length > 0 && stoppedAt - (stored[stored.length - 1]?.ts ?? 0) <= SLACK_MS;
      },
      { description: "the agent's last samples in InfluxDB", timeoutMs: FAULT_WAIT_MS, intervalMs: 200 },
    ).catch(() => undefined);
    console.info(
      `faults/server-disk-full: filler ${filled} bytes; ${ackedAtFull} PUBACKs before the disk was full, ${ackedWhileFull} while full; ` +
        `agent outbox ${fullDepth} batches while full; ${[...counts.values()].join('+')} raw points and ${stored.length} agent samples stored`,
    );
    expect(ackedWhileFull).toBe(0);
    for (const id of qos.ids) expect(counts.get(id), id).toBe(BATCHES * SAMPLES);
    expect(stored.map((p) => p.value)).toEqual(expectedValues(SEED, METRIC, INTERVAL_MS, stored.length));
    expect(stoppedAt - (stored[stored.length - 1]?.ts ?? 0)).toBeLessThanOrEqual(SLACK_MS);
  }, 150_000);
});
