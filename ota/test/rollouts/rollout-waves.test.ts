import { waitFor } from '@outpost/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRollout, detail, fleet, startRolloutPlatform, waitRollout, withJob, type RolloutPlatform, type SimDevice } from './helpers/rollout-platform.js';

describe('a rollout through the platform: waves, gates, progress', () => {
  let p: RolloutPlatform;
  const sims: SimDevice[] = [];
  beforeAll(async () => {
    p = await startRolloutPlatform();
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await p.close();
  });

  it('publishes jobs wave by wave, starts wave 2 only after the gate passed, and succeeds once every device confirmed', async () => {
    const devices = await fleet(p, 'wave', 5);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ percent: 20 }, { percent: 100 }],
      gate: { soak: '1s', deviceTimeout: '30s' },
    });
    expect(created).toMatchObject({ state: 'running', devices: 5, waveCount: 2 });

    const first = await waitFor(() => (withJob(devices).length === 1 ? withJob(devices)[0] : undefined), { description: 'the first wave gets its job', timeoutMs: 10_000 });
    const job = first.lastJob();
    expect(job).toMatchObject({ v: 1, rolloutId: created.id, allowDowngrade: false, confirmDeadlineS: 600, manifest: { id: 'art-2', version: '2.0.0' } });
    expect(job?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/device\/v1\/firmware\/art-2$/);
    expect(p.module.maintenance.isUpdating(first.id)).toBe(true);
    expect(await p.module.hasJobFor(first.id, 'art-2')).toBe(true);
    expect(await p.module.artifactInUse('art-2')).toBe(true);

    await first.progress('downloading', { percent: 40, bytes: 400 });
    await waitRollout(p, created.id, (d) => d.wavesProgress[0]?.counts['downloading'] === 1, 'progress is stored');
    const rows = (await p.api('GET', `/api/v1/rollouts/${created.id}/devices?state=downloading`)).body as { items: { deviceId: string; percent: number; bytes: number }[] };
    expect(rows.items).toEqual([expect.objectContaining({ deviceId: first.id, percent: 40, bytes: 400 })]);
    // The gate waits for the device's confirmation: nothing more goes out meanwhile.
    const waiting = await detail(p, created.id);
    expect(waiting.wavesProgress[0]?.gate.status).toBe('waiting');
    expect(withJob(devices)).toHaveLength(1);

    await first.progress('health-checking');
    await first.progress('succeeded');
    const soaking = await waitRollout(p, created.id, (d) => d.wavesProgress[0]?.counts['succeeded'] === 1, 'success is stored');
    expect(withJob(devices).length).toBe(1);
    expect(soaking.currentWave).toBe(0);
    expect(p.module.maintenance.isUpdating(first.id)).toBe(false);

    await waitFor(() => withJob(devices).length === 5, { description: 'wave 2 gets its jobs after the soak', timeoutMs: 10_000 });
    const second = await detail(p, created.id);
    expect(second.currentWave).toBe(1);
    expect(second.wavesProgress[0]?.gate.status).toBe('passed');
    for (const d of devices.filter((x) => x !== first)) await d.progress('succeeded');
    const done = await waitRollout(p, created.id, (d) => d.state === 'succeeded', 'the rollout succeeds');
    expect(done.counts).toEqual({ succeeded: 5 });
    expect(await p.module.artifactInUse('art-2')).toBe(false);
    expect(await p.metric('outpost_ota_rollouts', { state: 'succeeded' })).toBe(1);
    expect(p.live.some((e) => e.topic === 'rollouts' && (e.payload as { state?: string }).state === 'succeeded')).toBe(true);
  });

  it('pauses the rollout when the failure ratio is breached, and later waves never start', async () => {
    const devices = await fleet(p, 'fail', 4);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ count: 2 }, { percent: 100 }],
      gate: { soak: '1s', deviceTimeout: '30s', maxFailureRatio: 0.4 },
    });
    await waitFor(() => withJob(devices).length === 2, { description: 'wave 1 jobs', timeoutMs: 10_000 });
    const [a, b] = withJob(devices);
    await a?.progress('failed', { error: { code: 'OTA_ERR_HEALTH_CHECK', message: 'health check failed' } });
    await b?.progress('rolled-back', { error: { code: 'OTA_ERR_NOT_CONFIRMED', message: 'not confirmed in time' } });
    const paused = await waitRollout(p, created.id, (d) => d.state === 'paused', 'the gate pauses the rollout');
    expect(paused.reason?.code).toBe('GATE_FAILURE_RATIO');
    expect(paused.reason?.message).toContain('2 of 2');
    expect(paused.wavesProgress[0]?.gate.status).toBe('breached');
    expect(withJob(devices)).toHaveLength(2);
    const failedRows = (await p.api('GET', `/api/v1/rollouts/${created.id}/devices?state=failed`)).body as { items: { error: { code: string } }[] };
    expect(failedRows.items[0]?.error.code).toBe('OTA_ERR_HEALTH_CHECK');
    expect(await p.metric('outpost_ota_gate_breaches_total', { kind: 'failure-ratio' })).toBeGreaterThanOrEqual(1);

    // Retry gives the failed devices new jobs; their success lets the rollout go on once resumed.
    const oldJobs = [a, b].map((d) => d?.lastJob()?.jobId);
    const retried = await p.api('POST', `/api/v1/rollouts/${created.id}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { retried: 2 } });
    await waitFor(() => a !== undefined && b !== undefined && a.jobs.length === 2 && b.jobs.length === 2, { description: 'retry jobs', timeoutMs: 10_000 });
    expect(a?.lastJob()?.jobId).not.toBe(oldJobs[0]);
    await a?.progress('succeeded');
    await b?.progress('succeeded');
    expect((await p.api('POST', `/api/v1/rollouts/${created.id}/resume`)).status).toBe(200);
    await waitFor(() => withJob(devices).length === 4, { description: 'wave 2 after resume', timeoutMs: 10_000 });
    const audit = (await p.api('GET', `/api/v1/audit?limit=100`)).body as { items: { action: string; target: string | null }[] };
    const actions = audit.items.filter((e) => e.target === `rollout:${created.id}`).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['rollout.create', 'rollout.pause', 'rollout.retry', 'rollout.resume']));
  });

  it('counts a device that never reports as a failure when its timeout passes', async () => {
    const devices = await fleet(p, 'lost', 2);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ percent: 100 }],
      gate: { soak: '1s', deviceTimeout: '1s', maxFailureRatio: 0.5, successRatio: 0.5 },
    });
    await waitFor(() => withJob(devices).length === 2, { description: 'jobs', timeoutMs: 10_000 });
    await devices[0]?.progress('succeeded');
    const done = await waitRollout(p, created.id, (d) => d.counts['timed-out'] === 1, 'the silent device times out');
    expect(done.counts['succeeded']).toBe(1);
    const lost = devices[1];
    // The lost device is told to drop its job, so it does not apply an update the rollout counted as failed.
    await waitFor(() => lost?.lastJob()?.cancel === true, { description: 'a cancel job for the timed-out device', timeoutMs: 10_000 });
    const rows = (await p.api('GET', `/api/v1/rollouts/${created.id}/devices?state=timed-out`)).body as { items: { deviceId: string; error: { code: string } }[] };
    expect(rows.items).toEqual([expect.objectContaining({ deviceId: lost?.id, error: expect.objectContaining({ code: 'OTA_DEVICE_TIMEOUT' }) })]);
    await waitRollout(p, created.id, (d) => d.state === 'succeeded', 'the rollout finishes with 1 of 2');
    expect(p.module.maintenance.isUpdating(lost?.id ?? '')).toBe(false);
  });

  it('aborts: devices not yet started get their job again with cancel: true, pending ones never get one', async () => {
    const devices = await fleet(p, 'abort', 3);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ count: 2 }, { percent: 100 }],
      gate: { soak: '1s', deviceTimeout: '30s' },
    });
    await waitFor(() => withJob(devices).length === 2, { description: 'jobs', timeoutMs: 10_000 });
    const [started, queued] = withJob(devices);
    await started?.progress('downloading', { percent: 10, bytes: 10 });
    await waitRollout(p, created.id, (d) => d.counts['downloading'] === 1, 'downloading stored');
    const res = await p.api('POST', `/api/v1/rollouts/${created.id}/abort`);
    expect(res).toMatchObject({ status: 200, body: { state: 'aborted', reason: { code: 'ABORTED' } } });
    await waitFor(() => queued?.lastJob()?.cancel === true, { description: 'the queued device gets a cancel job', timeoutMs: 10_000 });
    expect(started?.lastJob()?.cancel).toBeUndefined();
    const after = await detail(p, created.id);
    expect(after.counts).toEqual({ downloading: 1, cancelled: 2 });
    const again = await p.api('POST', `/api/v1/rollouts/${created.id}/resume`);
    expect(again).toMatchObject({ status: 409, body: { code: 'ROLLOUT_STATE_CONFLICT' } });
    // The device already downloading still reports; it is recorded.
    await started?.progress('succeeded');
    await waitRollout(p, created.id, (d) => d.counts['succeeded'] === 1, 'a late success is recorded');
  });

  it('times out a device still updating in an aborted rollout, so it leaves maintenance', async () => {
    const devices = await fleet(p, 'stuck', 1);
    sims.push(...devices);
    const created = await createRollout(p, { artifactId: 'art-2', target: { devices: devices.map((d) => d.id) }, waves: [{ percent: 100 }], gate: { deviceTimeout: '1s' } });
    const device = await waitFor(() => withJob(devices)[0], { description: 'the job', timeoutMs: 10_000 });
    await device.progress('installing');
    await waitRollout(p, created.id, (d) => d.counts['installing'] === 1, 'installing stored');
    expect((await p.api('POST', `/api/v1/rollouts/${created.id}/abort`)).status).toBe(200);
    expect(p.module.maintenance.isUpdating(device.id)).toBe(true);
    await waitRollout(p, created.id, (d) => d.counts['timed-out'] === 1, 'the device times out after the abort');
    expect(p.module.maintenance.isUpdating(device.id)).toBe(false);
  });

  it('starts a scheduled rollout at startAt, not before', async () => {
    const devices = await fleet(p, 'later', 1);
    sims.push(...devices);
    const startAt = Date.now() + 1_500;
    const created = await createRollout(p, { artifactId: 'art-2', target: { devices: devices.map((d) => d.id) }, waves: [{ percent: 100 }], startAt });
    expect(created).toMatchObject({ state: 'scheduled', startAt, currentWave: -1 });
    expect(withJob(devices)).toHaveLength(0);
    await waitFor(() => withJob(devices).length === 1, { description: 'the job at startAt', timeoutMs: 10_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(startAt);
    expect((await detail(p, created.id)).state).toBe('running');
  });

  it('lets a viewer read rollouts but not act on them', async () => {
    const made = await p.api('POST', '/api/v1/api-tokens', { name: 'rollout-viewer', role: 'viewer' });
    const token = (made.body as { token: string }).token;
    const as = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${p.t.operatorUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    expect((await as('GET', '/api/v1/rollouts')).status).toBe(200);
    const refused = await as('POST', '/api/v1/rollouts', { artifactId: 'art-2', target: { group: 'test' }, waves: [{ percent: 100 }] });
    expect(refused.status).toBe(403);
    const listed = (await (await as('GET', '/api/v1/rollouts?limit=2')).json()) as { items: unknown[]; nextCursor?: string };
    expect(listed.items).toHaveLength(2);
    expect(listed.nextCursor).toBeDefined();
    const next = (await (await as('GET', `/api/v1/rollouts?limit=2&cursor=${listed.nextCursor ?? ''}`)).json()) as { items: { id: string }[] };
    expect(next.items.length).toBeGreaterThan(0);
    expect(next.items.map((r) => r.id)).not.toContain((listed.items[0] as { id: string }).id);
  });
});
