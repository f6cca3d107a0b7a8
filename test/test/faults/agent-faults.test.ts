/**
 * The edge agent's delivery guarantees, checked in the telemetry store itself (issue 7 "Tests"),
 * on real processes: an `outpost server` (embedded SQLite store) and `outpost-agent run`.
 *
 * 1. The server is SIGKILLed while the agent collects, and restarted on the same ports and data:
 *    every sample the agent collected reaches the store exactly once, in order.
 * 2. The agent is SIGKILLed while it is sending a backlog (after a server outage, under a low
 *    `msgsPerS` so the replay takes a while) and restarted: nothing it had stored in its outbox is
 *    lost, nothing is stored twice.
 *
 * The oracle. Sample timestamps are the agent's clock at each collection (not a grid: timers
 * drift), so they cannot tell a lost sample from a late tick. Values can: the `simulated`
 * collector runs with `base: 0` and no wave, so each value is `noise · (2u − 1)` where `u` is the
 * next number of a PRNG seeded by `seed` — the k-th collection of an agent process gets the k-th
 * number of that sequence, whatever its time. The same collector built here (`createCollector`)
 * gives the expected sequence. So, reading the store's raw samples of the device in time order:
 * - one agent process must have stored exactly the first n values of the sequence: a lost sample is
 *   a value skipped, a duplicate (the same sample under another time) a value repeated, a reorder
 *   two values swapped — each an exact mismatch;
 * - n is the position of the last sample the agent produced, found independently of the store: for
 *   a gracefully stopped agent (SIGTERM flushes everything) the newest sample on the live stream;
 *   for a SIGKILLed agent the newest sample in (a copy of) its outbox after the kill — what it had
 *   made durable (opening the copy seals the staged samples of the open batch, ADR 0006). Only a
 *   sample whose group commit was under way dies with the process; it cannot have been sent.
 * A restarted agent starts the sequence again, so test 2 splits the store's samples at the restart.
 * The store is read through its own API (`raw`), once the query route's `fn=count` has reached
 * the expected total.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutbox, statePaths } from '@outpost/edge-agent';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Api, openLive, startAgent, startOutpostServer, until } from '../agent-harness.js';
import type { AgentProcess, LiveEvent, OutpostServer } from '../agent-harness.js';
import { embeddedSamples, enrollAgent, expectedValues, readStatus, tokensOf, writeAgentConfig, type AgentStatus } from './faults-kit.js';

const METRIC = 'seqval';
const INTERVAL_MS = 50;
const BATCH = { maxSamples: 5, maxAgeMs: 500 };
/**
 * The devices' rate (server Limits): the agent paces its sends by it, with a burst of one second's
 * worth, so a backlog well above it takes seconds to replay (test 2 kills the agent meanwhile).
 * DeviceStatus messages count against it too: 4 batches/s + 2 statuses/s stay below it.
 */
const MSGS_PER_S = 8;
const STATUS_INTERVAL = '500ms';
/** Batches the outbox must hold before the server comes back. */
const HELD_BATCHES = 8;
const SLOW_HELD_BATCHES = 2 * MSGS_PER_S;
const WAIT_MS = 30_000;

interface Sample {
  ts: number;
  value: number;
}

/** How many samples an agent process had produced when it produced `value` (its 1-based position). */
function countUpTo(seed: number, value: number, limit = 100_000): number {
  const values = expectedValues(seed, METRIC, INTERVAL_MS, limit);
  const at = values.indexOf(value);
  if (at === -1) throw new Error(`${value} is not among the first ${limit} values of seed ${seed}`);
  return at + 1;
}

function samplesOf(batchPayload: Record<string, unknown>): Sample[] {
  const samples = batchPayload['samples'] as { ts: number; metrics: Record<string, unknown> }[];
  return samples.flatMap((s) => (typeof s.metrics[METRIC] === 'number' ? [{ ts: s.ts, value: s.metrics[METRIC] }] : []));
}

function liveSamples(events: readonly LiveEvent[], deviceId: string): Sample[] {
  return events.filter((e) => e.event === 'telemetry' && e.deviceId === deviceId).flatMap((e) => samplesOf(e.payload));
}

const newest = (samples: readonly Sample[]): Sample | undefined => samples.reduce<Sample | undefined>((a, s) => (a === undefined || s.ts > a.ts ? s : a), undefined);

/** The store's count of the metric for the device since `from`, through the query route. */
async function storedCount(api: Api, deviceId: string, from: number): Promise<number> {
  const answer = await api.ok<{ points: { value: number }[] }>('GET', `/devices/${deviceId}/telemetry?metric=${METRIC}&from=${from}&to=${Date.now() + 60_000}&every=1d&fn=count`);
  return answer.points.reduce((sum, p) => sum + p.value, 0);
}

function agentArgs(stateDir: string, config: string): string[] {
  return ['run', '--state-dir', stateDir, '--config', config, '--status-interval', STATUS_INTERVAL, '--reconnect-min', '100ms', '--reconnect-max', '300ms', '--flush-timeout', '10s', '--log-level', 'warn'];
}

describe('edge agent faults, checked in the telemetry store', () => {
  let server: OutpostServer;
  const agents: AgentProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    server = await startOutpostServer({ OUTPOST_LIMIT_MSGS_PER_S: String(MSGS_PER_S) });
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) {
      agent.child.kill('SIGCONT');
      if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
      await agent.exited;
    }
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** A freshly enrolled device with its own state dir and agent.json. */
  async function newDevice(seed: number) {
    const api = await Api.login(server.info.url);
    const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-faults-'));
    dirs.push(dir);
    const stateDir = join(dir, 'state');
    const deviceId = await enrollAgent(tokensOf.api(api), server.info.deviceUrl, stateDir);
    const config = join(dir, 'agent.json');
    await writeAgentConfig(config, seed, METRIC, INTERVAL_MS, BATCH);
    return { dir, stateDir, deviceId, args: agentArgs(stateDir, config) };
  }

  function launch(args: readonly string[]): AgentProcess {
    const agent = startAgent(args);
    agents.push(agent);
    return agent;
  }

  /** Waits until this agent process reports itself connected and has sent something. */
  async function sending(stateDir: string, agent: AgentProcess): Promise<AgentStatus> {
    return until('the agent connected and sending', async () => {
      const s = await readStatus(stateDir);
      return s !== undefined && s.pid === agent.child.pid && s.state === 'connected' && s.lastSentAt !== undefined ? s : undefined;
    }, WAIT_MS);
  }

  /** The server SIGKILLed, then waits until the agent's outbox holds `batches`. */
  async function outage(stateDir: string, batches: number): Promise<{ depth: number; oldestSeq: number }> {
    await server.kill();
    return until(`the outbox holding ${batches} batches`, async () => {
      const s = await readStatus(stateDir);
      return s?.state === 'disconnected' && s.outbox.depth >= batches && s.outbox.oldestSeq !== undefined ? { depth: s.outbox.depth, oldestSeq: s.outbox.oldestSeq } : undefined;
    }, WAIT_MS);
  }

  /**
   * Waits until this agent process is connected with (next to) nothing held, then SIGTERMs it: it
   * flushes the rest and says it goes offline. The platform publishes each batch on the live
   * stream before its PUBACK and the stream keeps the order, so once the device's `offline`
   * status shows there, every batch the agent sent precedes it on `live`.
   */
  async function drainAndStop(stateDir: string, agent: AgentProcess, live: { events: LiveEvent[] }, deviceId: string): Promise<void> {
    await until('the outbox drained', async () => {
      const s = await readStatus(stateDir);
      return s !== undefined && s.pid === agent.child.pid && s.state === 'connected' && s.outbox.depth <= 1;
    }, WAIT_MS);
    const mark = live.events.length;
    const code = await agent.stop();
    expect(code, agent.output()).toBe(0);
    const final = await readStatus(stateDir);
    expect(final).toMatchObject({ state: 'stopped', outbox: { depth: 0, dropped: 0, refused: 0 } });
    await until('the device offline on the live stream', () => live.events.slice(mark).some((e) => e.event === 'status' && e.deviceId === deviceId && e.payload['state'] === 'offline'), WAIT_MS);
    expect(live.events.filter((e) => e.event === 'overflow')).toEqual([]);
  }

  /** Waits until the query route counts `total` samples of the device (and not more). */
  async function untilStored(api: Api, deviceId: string, from: number, total: number): Promise<void> {
    let count = 0;
    await until(`the store to count ${total} samples`, async () => {
      count = await storedCount(api, deviceId, from);
      return count >= total;
    }, WAIT_MS);
    expect(count).toBe(total);
  }

  it('server SIGKILLed during collection, then restarted: every sample stored exactly once, in order', async () => {
    const seed = 11;
    const { stateDir, deviceId, args } = await newDevice(seed);
    const from = Date.now() - 1_000;
    const agent = launch(args);
    await sending(stateDir, agent);

    const downAt = Date.now();
    const held = await outage(stateDir, HELD_BATCHES);
    await server.restart();
    const upAt = Date.now();
    const api = await Api.login(server.info.url);
    const live = await openLive(api, 'telemetry,status');
    let produced: number;
    try {
      await drainAndStop(stateDir, agent, live, deviceId);
      // SIGTERM flushed everything: the newest sample on the live stream is the agent's last one.
      const last = newest(liveSamples(live.events, deviceId));
      if (last === undefined) throw new Error('no telemetry on the live stream after the restart');
      produced = countUpTo(seed, last.value);
      await untilStored(api, deviceId, from, produced);
    } finally {
      live.close();
    }

    const stored = await embeddedSamples(join(server.dir, 'data'), deviceId, METRIC, from);
    expect(stored.map((s) => s.value)).toEqual(expectedValues(seed, METRIC, INTERVAL_MS, produced));
    // The outage lies inside what was stored: samples collected into the outbox while the server was gone.
    const duringOutage = stored.filter((s) => s.ts > downAt && s.ts < upAt).length;
    expect(duringOutage).toBeGreaterThanOrEqual((held.depth - 1) * BATCH.maxSamples);
    console.info(`agent-faults server-down: ${stored.length} samples stored, ${duringOutage} collected during the ${upAt - downAt} ms outage`);
  });

  it('agent SIGKILLed while sending a backlog, then restarted: nothing it had stored is lost, nothing stored twice', async () => {
    const seed = 23;
    const { dir, stateDir, deviceId, args } = await newDevice(seed);
    const from = Date.now() - 1_000;
    const first = launch(args);
    await sending(stateDir, first);

    // A backlog well above what the device may send in a burst.
    const held = await outage(stateDir, SLOW_HELD_BATCHES);
    // Frozen while the server comes back, so that the live stream is open before the replay starts.
    first.child.kill('SIGSTOP');
    await server.restart();
    const upAt = Date.now();
    const api = await Api.login(server.info.url);
    const live = await openLive(api, 'telemetry,status');
    try {
      first.child.kill('SIGCONT');
      // The replay has begun (a held batch arrived): kill the agent in the middle of it.
      await until('the first replayed batch', () => live.events.some((e) => e.event === 'telemetry' && e.deviceId === deviceId && (e.payload['seq'] as number) >= held.oldestSeq), WAIT_MS);
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();

      // What the dead agent had made durable: a copy of its outbox, opened as the agent would.
      const copy = join(dir, 'outbox-after-kill');
      await cp(statePaths(stateDir).outbox, copy, { recursive: true });
      const outbox = await openOutbox({ dir: copy });
      const pending = await outbox.peek(1_000_000);
      await outbox.close();
      const durable = pending.flatMap((e) => samplesOf(JSON.parse(e.payload.toString('utf8')) as Record<string, unknown>));
      // Killed mid-flush: batches held since the outage were still unacknowledged.
      expect(pending.filter((e) => e.createdAt < upAt).length, `outbox after the kill: ${pending.length} entries`).toBeGreaterThan(0);
      const lastDurable = newest(durable);
      if (lastDurable === undefined) throw new Error('the outbox held no samples after the kill');
      const producedBefore = countUpTo(seed, lastDurable.value);

      const restartAt = Date.now();
      const second = launch(args);
      await drainAndStop(stateDir, second, live, deviceId);
      const lastAfter = newest(liveSamples(live.events, deviceId).filter((s) => s.ts >= restartAt));
      if (lastAfter === undefined) throw new Error('no telemetry from the restarted agent on the live stream');
      const producedAfter = countUpTo(seed, lastAfter.value);
      await untilStored(api, deviceId, from, producedBefore + producedAfter);

      const stored = await embeddedSamples(join(server.dir, 'data'), deviceId, METRIC, from);
      const before = stored.filter((s) => s.ts < restartAt);
      const after = stored.filter((s) => s.ts >= restartAt);
      expect(before.map((s) => s.value)).toEqual(expectedValues(seed, METRIC, INTERVAL_MS, producedBefore));
      expect(after.map((s) => s.value)).toEqual(expectedValues(seed, METRIC, INTERVAL_MS, producedAfter));
      expect(before.every((s) => s.ts <= killedAt)).toBe(true);
      console.info(
        `agent-faults agent-killed: ${pending.length} batches pending at the kill (${pending.filter((e) => e.createdAt < upAt).length} from the outage), ` +
          `${before.length} + ${after.length} samples stored, newest durable sample ${killedAt - lastDurable.ts} ms before the kill`,
      );
    } finally {
      live.close();
    }
  });
});
