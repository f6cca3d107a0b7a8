import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TEST_ADMIN_PASSWORD, waitFor } from '@outpost/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, startRolloutPlatform, withJob, type RolloutPlatform, type SimDevice } from './helpers/rollout-platform.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../platform/dist/src/cli/main.js', import.meta.url));

describe('outpost rollouts (the real CLI process against the platform)', () => {
  let p: RolloutPlatform;
  let token: string;
  const sims: SimDevice[] = [];
  const outpost = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--server', p.t.operatorUrl, '--token', token], { env: { PATH: process.env['PATH'] ?? '', HOME: p.t.dataDir }, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  beforeAll(async () => {
    p = await startRolloutPlatform();
    const login = await fetch(`${p.t.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: TEST_ADMIN_PASSWORD }) });
    token = ((await login.json()) as { token: string }).token;
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await p.close();
  });

  it('creates, shows, pauses, resumes and watches a rollout to its end', async () => {
    const devices = await fleet(p, 'cli', 3);
    sims.push(...devices);
    const created = await outpost('rollouts', 'create', '--artifact', 'art-2', '--devices', devices.map((d) => d.id).join(','), '--waves', '1,100%', '--soak', '1s', '--device-timeout', '30s', '--max-failure-ratio', '20%', '--json');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const rollout = JSON.parse(created.stdout) as { id: string; state: string; waveCount: number };
    expect(rollout).toMatchObject({ state: 'running', waveCount: 2 });

    const listed = await outpost('rollouts', 'list');
    expect(listed.stdout).toMatch(new RegExp(`${rollout.id}\\s+art-2\\s+art-2\\s+running\\s+1/2\\s+0/3`));

    const paused = await outpost('rollouts', 'pause', rollout.id);
    expect(paused.stdout).toContain(`Rollout ${rollout.id} (art-2): paused, wave 1/2, 0/3 succeeded — paused by an operator.`);
    expect((await outpost('rollouts', 'pause', rollout.id)).stderr).toContain('ROLLOUT_STATE_CONFLICT');
    expect((await outpost('rollouts', 'resume', rollout.id)).stdout).toContain('running');

    const first = await waitFor(() => withJob(devices)[0], { description: 'wave 1', timeoutMs: 10_000 });
    await first.progress('downloading', { percent: 50, bytes: 512 });
    const status = await waitFor(
      async () => {
        const answer = await outpost('rollouts', 'status', rollout.id);
        return answer.stdout.includes('1 in progress') ? answer : undefined;
      },
      { description: 'status shows progress', timeoutMs: 30_000 },
    );
    expect(status.stdout.split('\n')).toEqual([
      `Rollout ${rollout.id} (art-2): running, wave 1/2, 0/3 succeeded`,
      '  wave 1: 0/1 succeeded, 0 failed, 1 in progress; gate waiting: 0 of 1 device(s) finished, 1 needed',
      '  wave 2: 0/2 succeeded, 0 failed, 0 in progress; gate pending: not started',
      '',
    ]);

    const watching = outpost('rollouts', 'status', rollout.id, '--watch', '--interval', '200ms');
    await first.progress('succeeded');
    await waitFor(() => withJob(devices).length === 3, { description: 'wave 2', timeoutMs: 10_000 });
    for (const d of devices.filter((x) => x !== first)) await d.progress('succeeded');
    const watched = await watching;
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split('\n');
    expect(lines[lines.length - 3]).toBe(`Rollout ${rollout.id} (art-2): succeeded, wave 2/2, 3/3 succeeded`);
    expect(lines).toContain('  wave 2: 2/2 succeeded, 0 failed, 0 in progress; gate passed');
  }, 120_000);

  it('refuses a target-less create with a usage error and a refused one with the server\'s code', async () => {
    const noTarget = await outpost('rollouts', 'create', '--artifact', 'art-2');
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('name the target: --group, --tag or --devices');
    const badWaves = await outpost('rollouts', 'create', '--artifact', 'art-2', '--group', 'test', '--waves', '50%,20%');
    expect(badWaves.code).not.toBe(0);
    expect(badWaves.stderr).toContain('ROLLOUT_WAVES_INVALID');
  }, 60_000);
});
