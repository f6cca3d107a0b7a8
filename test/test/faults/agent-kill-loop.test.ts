/**
 * Power cuts lose nothing (issue 11, item 6; ADR 0006), checked in the telemetry store on real
 * processes: an `outpost server` and `outpost-agent run` with a simulated collector every 50 ms
 * and batches cut only every 3 s (so an agent that kept its open batch in memory would lose up
 * to 3 s of samples at each kill). The agent is SIGKILLed N times at random points
 * (`OUTPOST_KILL_LOOP_N`, default 8) and restarted on the same state dir; the last incarnation
 * is stopped with SIGTERM. Then every sample each incarnation produced must be stored exactly
 * once:
 *
 * - each incarnation runs with its own collector seed, so a stored value tells which
 *   incarnation made it and its position k in that incarnation's sequence (the simulated
 *   collector with `base: 0` gives the k-th number of a PRNG seeded by `seed`, whatever the time);
 * - an incarnation's stored values, in time order, must be exactly positions 1..n of its
 *   sequence: a lost sample is a gap, a duplicate a repeat;
 * - n must reach the kill: the newest stored sample of an incarnation was collected at most
 *   `SLACK_MS` before its SIGKILL (what may die with the process is the sample being collected
 *   and the group commit under way — milliseconds, not the open batch).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statePaths } from '@outpost/edge-agent';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, startAgent, startOutpostServer, until } from '../agent-harness.js';
import type { AgentProcess, OutpostServer } from '../agent-harness.js';
import { embeddedSamples, enrollAgent, expectedValues, seededCollector, tearDown, tokensOf } from './faults-kit.js';

const METRIC = 'killval';
const INTERVAL_MS = 50;
const BATCH = { maxSamples: 1000, maxAgeMs: 3000 };
const KILLS = Number(process.env['OUTPOST_KILL_LOOP_N'] ?? '8');
/** How long before a SIGKILL the newest stored sample of the killed agent may have been collected. */
const SLACK_MS = 400;
const WAIT_MS = 30_000;

interface Incarnation {
  readonly seed: number;
  readonly startedAt: number;
  /** When the SIGKILL (or the final SIGTERM) was sent. */
  endedAt: number;
  readonly killed: boolean;
}

interface Stored {
  readonly ts: number;
  readonly value: number;
}

const sequence = (seed: number, n: number): number[] => expectedValues(seed, METRIC, INTERVAL_MS, n);

interface Verdict {
  readonly ok: boolean;
  readonly problems: string[];
  readonly perIncarnation: { seed: number; stored: number; newestBeforeEndMs: number | undefined }[];
  readonly total: number;
}

/** Checks the store against the incarnations (see the file comment). */
function judge(incarnations: readonly Incarnation[], stored: readonly Stored[]): Verdict {
  const problems: string[] = [];
  const owner = new Map<number, { incarnation: number; position: number }>();
  incarnations.forEach((inc, i) => {
    const length = Math.ceil((inc.endedAt - inc.startedAt) / INTERVAL_MS) + 200;
    sequence(inc.seed, length).forEach((value, position) => owner.set(value, { incarnation: i, position }));
  });
  const positions = incarnations.map(() => [] as number[]);
  const newest = incarnations.map(() => undefined as number | undefined);
  for (const sample of [...stored].sort((a, b) => a.ts - b.ts)) {
    const found = owner.get(sample.value);
    if (found === undefined) {
      problems.push(`stored value ${sample.value} at ${sample.ts} belongs to no incarnation`);
      continue;
    }
    positions[found.incarnation]?.push(found.position);
    newest[found.incarnation] = Math.max(newest[found.incarnation] ?? 0, sample.ts);
  }
  const perIncarnation = incarnations.map((inc, i) => {
    const got = positions[i] ?? [];
    const gap = got.findIndex((position, at) => position !== at);
    if (gap !== -1) problems.push(`seed ${inc.seed}: stored position ${got[gap]} where ${gap} was due (${got.length} stored)`);
    const last = newest[i];
    const newestBeforeEndMs = last === undefined ? undefined : inc.endedAt - last;
    if (newestBeforeEndMs === undefined || newestBeforeEndMs > SLACK_MS) {
      problems.push(`seed ${inc.seed}: the newest stored sample was collected ${String(newestBeforeEndMs)} ms before the ${inc.killed ? 'SIGKILL' : 'SIGTERM'} (at most ${SLACK_MS} allowed)`);
    }
    return { seed: inc.seed, stored: got.length, newestBeforeEndMs };
  });
  return { ok: problems.length === 0, problems, perIncarnation, total: stored.length };
}

describe('edge agent SIGKILLed in a loop while collecting', () => {
  let server: OutpostServer | undefined;
  let dir: string | undefined;
  const agents: AgentProcess[] = [];

  afterAll(() => tearDown(agents, server, dir));

  it(`stores every sample of ${KILLS} killed agents and the last, stopped one, exactly once`, async () => {
    server = await startOutpostServer();
    const api = await Api.login(server.info.url);
    dir = await mkdtemp(join(tmpdir(), 'outpost-agent-kill-loop-'));
    const stateDir = join(dir, 'state');
    const deviceId = await enrollAgent(tokensOf.api(api), server.info.deviceUrl, stateDir, 'kill-loop');
    const config = join(dir, 'agent.json');
    const args = ['run', '--state-dir', stateDir, '--config', config, '--status-interval', '500ms', '--reconnect-min', '100ms', '--reconnect-max', '300ms', '--flush-timeout', '10s', '--log-level', 'warn'];
    const from = Date.now() - 1_000;
    const incarnations: Incarnation[] = [];

    for (let round = 0; round <= KILLS; round += 1) {
      const seed = 1000 + round;
      await writeFile(config, JSON.stringify({ collectors: [seededCollector(seed, METRIC, INTERVAL_MS)], processing: { batch: BATCH } }));
      const startedAt = Date.now();
      const agent = startAgent(args);
      agents.push(agent);
      await until(`agent ${round} connected`, async () => {
        const status = await readFile(statePaths(stateDir).status, 'utf8').then((text) => JSON.parse(text) as { pid: number; state: string }, () => undefined);
        return status !== undefined && status.pid === agent.child.pid && status.state === 'connected';
      }, WAIT_MS);
      // A random point of the batch's 3 s life.
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(Math.random() * 2_500)));
      const killed = round < KILLS;
      const incarnation: Incarnation = { seed, startedAt, endedAt: Date.now(), killed };
      if (killed) {
        agent.child.kill('SIGKILL');
        await agent.exited;
      } else {
        expect(await agent.stop(), agent.output()).toBe(0);
      }
      incarnations.push(incarnation);
    }

    let verdict: Verdict | undefined;
    await until('every incarnation stored', async () => {
      verdict = judge(incarnations, await embeddedSamples(join((server as OutpostServer).dir, 'data'), deviceId, METRIC, from));
      return verdict.ok;
    }, WAIT_MS).catch(() => undefined);
    if (verdict === undefined) throw new Error('the store was never read');
    console.info(`agent-kill-loop: ${KILLS} kills, ${verdict.total} samples stored; newest stored sample before each end (ms): ${verdict.perIncarnation.map((p) => p.newestBeforeEndMs).join(', ')}`);
    expect(verdict.problems).toEqual([]);
  }, 600_000);
});
