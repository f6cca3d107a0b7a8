/**
 * Outbox overflow is visible (issue 11, item 8), on real processes: an `outpost-agent run` with
 * a 4 KiB outbox (`--outbox-max-bytes`) collects while its server is down; it drops its oldest
 * batches, counts them in batches and samples, says so once in its log, and once the server is
 * back its DeviceStatus carries the figures to `GET /api/v1/devices/{id}`. A bound below the
 * minimum is refused with the reason, on the command line and in agent.json.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Api, runAgent, startAgent, startOutpostServer, until } from '../agent-harness.js';
import type { AgentProcess, OutpostServer } from '../agent-harness.js';
import { enrollAgent, readStatus, tearDown, tokensOf } from './faults-kit.js';

const WAIT_MS = 30_000;

interface DeviceOutbox {
  depth: number;
  bytes: number;
  dropped: number;
  droppedSamples?: number;
  maxBytes?: number;
  refused: number;
  at: number;
}

describe('edge agent outbox overflow', () => {
  let server: OutpostServer | undefined;
  let dir: string | undefined;
  const agents: AgentProcess[] = [];

  afterAll(() => tearDown(agents, server, dir));

  it('drops the oldest samples of a full outbox, counts them, warns once, and the platform shows the figures', async () => {
    server = await startOutpostServer();
    const api = await Api.login(server.info.url);
    dir = await mkdtemp(join(tmpdir(), 'outpost-agent-overflow-'));
    const stateDir = join(dir, 'state');
    const deviceId = await enrollAgent(tokensOf.api(api), server.info.deviceUrl, stateDir, 'overflow');
    const config = join(dir, 'agent.json');
    const collectors = [{ type: 'simulated', intervalMs: 20, seed: 5, metrics: { fill: { base: 0, noise: 1000 } } }];
    const common = ['--state-dir', stateDir, '--config', config, '--status-interval', '300ms', '--reconnect-min', '100ms', '--reconnect-max', '300ms', '--log-level', 'warn'];

    // Too small a bound is refused with the reason, from the command line and from agent.json.
    await writeFile(config, JSON.stringify({ collectors, outbox: { maxBytes: 100 } }));
    const fromFile = await runAgent(['run', ...common]);
    expect(fromFile.code).not.toBe(0);
    expect(fromFile.output).toMatch(/outbox.*maxBytes/);
    await writeFile(config, JSON.stringify({ collectors, processing: { batch: { maxSamples: 5, maxAgeMs: 100 } }, outbox: { maxBytes: 1 << 20 } }));
    const fromFlag = await runAgent(['run', ...common, '--outbox-max-bytes', '1000']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.output).toContain('--outbox-max-bytes must be at least 4096 bytes');

    // The flag wins over agent.json.
    const agent = startAgent(['run', ...common, '--outbox-max-bytes', '4KiB']);
    agents.push(agent);
    await until('the agent connected and sending', async () => {
      const s = await readStatus(stateDir);
      return s !== undefined && s.pid === agent.child.pid && s.state === 'connected' && s.lastSentAt !== undefined;
    }, WAIT_MS);

    await server.kill();
    const full = await until('the outbox dropping samples', async () => {
      const s = await readStatus(stateDir);
      return s !== undefined && s.outbox.dropped >= 2 && (s.outbox.droppedSamples ?? 0) >= 10 ? s : undefined;
    }, WAIT_MS);
    expect(full.outbox.maxBytes).toBe(4096);
    expect(full.outbox.bytes).toBeLessThanOrEqual(4096);
    expect(full.outbox.droppedSamples ?? 0).toBeGreaterThan(full.outbox.dropped);

    await server.restart();
    const admin = await Api.login(server.info.url);
    const shown = await until('the outbox figures on GET /devices/{id}', async () => {
      const device = await admin.ok<{ outbox: DeviceOutbox | null }>('GET', `/devices/${deviceId}`);
      return device.outbox !== null && (device.outbox.droppedSamples ?? 0) >= (full.outbox.droppedSamples ?? 0) ? device.outbox : undefined;
    }, WAIT_MS);
    expect(shown).toMatchObject({ maxBytes: 4096, refused: 0 });
    expect(shown.dropped).toBeGreaterThanOrEqual(full.outbox.dropped);

    expect(await agent.stop(), agent.output()).toBe(0);
    const warnings = agent
      .output()
      .split('\n')
      .filter((line) => line.includes('outbox full'));
    // The first drop is logged at once; the next would wait for dropWarnIntervalMs (default 60 s).
    expect(warnings, agent.output()).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, maxBytes: 4096, droppedBatches: expect.any(Number), droppedSamples: expect.any(Number) });
  }, 180_000);
});
