import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@outpost/e2e';
import type { AlertEvent } from '@outpost/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectSim, createRollout, detail, fleet, startRolloutPlatform, waitRollout, withJob, type RolloutPlatform, type SimDevice } from './helpers/rollout-platform.js';

/** Baseline devices keep talking (telemetry on an interval) while a test watches the updated ones. */
function keepTalking(devices: readonly SimDevice[]): () => void {
  const timer = setInterval(() => {
    for (const d of devices) void d.telemetry().catch(() => undefined);
  }, 200);
  return () => clearInterval(timer);
}

describe('rollout health gates, late enrollees and re-delivery', () => {
  let p: RolloutPlatform;
  const sims: SimDevice[] = [];
  const stops: (() => void)[] = [];
  beforeAll(async () => {
    p = await startRolloutPlatform();
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });
  afterAll(async () => {
    for (const s of sims) await s.close().catch(() => undefined);
    await p.close();
  });

  it('lets a device that enrolls later into the target group join the last wave', async () => {
    const devices = await fleet(p, 'grp', 2);
    sims.push(...devices);
    const created = await createRollout(p, { artifactId: 'art-2', target: { group: 'test' }, waves: [{ percent: 50 }, { percent: 100 }], gate: { soak: '1s', deviceTimeout: '30s' } });
    expect(created).toMatchObject({ devices: 2, waveCount: 2 });
    const [first] = await waitFor(() => (withJob(devices).length === 1 ? withJob(devices) : undefined), { description: 'wave 1', timeoutMs: 10_000 });
    await first?.progress('succeeded');
    await waitFor(() => withJob(devices).length === 2, { description: 'wave 2', timeoutMs: 10_000 });
    const late = await connectSim(p.mqttUrl, await p.enroll('grp-late'));
    sims.push(late);
    await waitFor(() => withJob([late]).length === 1, { description: 'the late enrollee gets a job', timeoutMs: 10_000 });
    expect(late.lastJob()?.rolloutId).toBe(created.id);
    const joined = await detail(p, created.id);
    expect(joined.wavesProgress[1]?.size).toBe(2);
    for (const d of [...devices.filter((x) => x !== first), late]) await d.progress('succeeded');
    await waitRollout(p, created.id, (d) => d.state === 'succeeded' && d.counts['succeeded'] === 3, 'all three succeed');
  });

  it('pauses when an updated device goes silent while the not-yet-updated ones keep talking', async () => {
    const devices = await fleet(p, 'quiet', 3);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ count: 1 }, { percent: 100 }],
      gate: { soak: '20s', deviceTimeout: '30s', health: { window: '30s', silenceAfter: '1s', action: 'pause' } },
    });
    const [updated] = await waitFor(() => (withJob(devices).length === 1 ? withJob(devices) : undefined), { description: 'wave 1', timeoutMs: 10_000 });
    const others = devices.filter((d) => d !== updated);
    stops.push(keepTalking(others));
    await updated?.progress('succeeded');
    await updated?.close();
    const paused = await waitRollout(p, created.id, (d) => d.state === 'paused', 'the silent device pauses the rollout');
    expect(paused.reason).toMatchObject({ code: 'GATE_SILENT' });
    expect(paused.reason?.message).toContain('1 of 1 updated device(s) went silent');
    expect(paused.reason?.message).toContain('against 0 of 2 not yet updated');
    expect(withJob(others)).toHaveLength(0);
    const listed = (await p.api('GET', `/api/v1/rollouts?state=paused`)).body as { items: { id: string; reason: { code: string } }[] };
    expect(listed.items.find((r) => r.id === created.id)?.reason.code).toBe('GATE_SILENT');
    expect((await p.api('POST', `/api/v1/rollouts/${created.id}/abort`)).status).toBe(200);
  });

  it('aborts when an updated device fires a critical alert and the others do not', async () => {
    const devices = await fleet(p, 'hot', 3);
    sims.push(...devices);
    const created = await createRollout(p, {
      artifactId: 'art-2',
      target: { devices: devices.map((d) => d.id) },
      waves: [{ count: 1 }, { percent: 100 }],
      gate: { soak: '20s', deviceTimeout: '30s', health: { window: '1m', silenceAfter: '1m', alertSeverities: ['critical'], action: 'abort' } },
    });
    const [updated] = await waitFor(() => (withJob(devices).length === 1 ? withJob(devices) : undefined), { description: 'wave 1', timeoutMs: 10_000 });
    await updated?.progress('succeeded');
    await waitRollout(p, created.id, (d) => d.wavesProgress[0]?.gate.status === 'soaking', 'the wave soaks');
    const deviceId = updated?.id ?? '';
    // A warning on another device does not count: only the chosen severities do.
    const warning: AlertEvent = { v: 1, id: 'ev-1', alertId: 'al-1', ruleId: 'r-1', deviceId: devices[2]?.id ?? '', state: 'firing', severity: 'warning', value: 1, ts: Date.now(), at: Date.now(), maintenance: false, late: false };
    p.publishLive({ topic: 'alerts', deviceId: warning.deviceId, payload: warning });
    const event: AlertEvent = { v: 1, id: 'ev-2', alertId: 'al-2', ruleId: 'r-1', deviceId, state: 'firing', severity: 'critical', value: 99, ts: Date.now(), at: Date.now(), maintenance: false, late: false };
    p.publishLive({ topic: 'alerts', deviceId, payload: event });
    const aborted = await waitRollout(p, created.id, (d) => d.state === 'aborted', 'the alert aborts the rollout');
    expect(aborted.reason).toMatchObject({ code: 'GATE_ALERTS' });
    expect(aborted.reason?.message).toContain('1 of 1 updated device(s) fire critical alerts');
    expect(aborted.counts).toEqual({ succeeded: 1, cancelled: 2 });
    expect(withJob(devices)).toHaveLength(1);
  });

  it('refuses bad rollouts with coded errors', async () => {
    const cases: [unknown, number, string][] = [
      [{ artifactId: 'nope', target: { group: 'test' }, waves: [{ percent: 100 }] }, 400, 'ROLLOUT_ARTIFACT_UNKNOWN'],
      [{ artifactId: 'art-2', target: {}, waves: [{ percent: 100 }] }, 400, 'ROLLOUT_TARGET_EMPTY'],
      [{ artifactId: 'art-2', target: { group: 'test' }, waves: [{ percent: 50 }, { percent: 20 }] }, 400, 'ROLLOUT_WAVES_INVALID'],
      [{ artifactId: 'art-2', target: { group: 'test' }, waves: [] }, 400, 'VALIDATION_FAILED'],
      [{ artifactId: 'art-2', target: { group: 'test' }, waves: [{ percent: 100 }], gate: { soak: 'soon' } }, 400, 'ROLLOUT_INVALID'],
      [{ artifactId: 'art-2', target: { group: 'nobody-here' }, waves: [{ percent: 100 }] }, 400, 'ROLLOUT_GROUP_UNKNOWN'],
      [{ artifactId: 'art-2', target: { devices: ['no-such-device'] }, waves: [{ percent: 100 }] }, 400, 'ROLLOUT_DEVICE_UNKNOWN'],
    ];
    for (const [body, status, code] of cases) {
      const res = await p.api('POST', '/api/v1/rollouts', body);
      expect({ body, status: res.status, code: (res.body as { code?: string }).code }).toEqual({ body, status, code });
    }
    expect((await p.api('GET', '/api/v1/rollouts/ro_missing')).body).toMatchObject({ code: 'ROLLOUT_NOT_FOUND' });
    const busy = await fleet(p, 'busy', 1);
    sims.push(...busy);
    const ids = busy.map((d) => d.id);
    await createRollout(p, { artifactId: 'art-2', target: { devices: ids }, waves: [{ percent: 100 }], startNow: false });
    const again = await p.api('POST', '/api/v1/rollouts', { artifactId: 'art-2', target: { devices: ids }, waves: [{ percent: 100 }] });
    expect(again).toMatchObject({ status: 409, body: { code: 'ROLLOUT_DEVICE_BUSY' } });
  });
});

describe('durable progress and re-delivery across a platform restart', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-rollout-restart-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a progress report acknowledged just before the platform stopped, and delivers the job again from the database', async () => {
    const first = await startRolloutPlatform({ dataDir: dir });
    const creds = await first.enroll('durable-1');
    const device = await connectSim(first.mqttUrl, creds);
    const created = await createRollout(first, { artifactId: 'art-2', target: { devices: [creds.deviceId] }, waves: [{ percent: 100 }], gate: { soak: '1s', deviceTimeout: '10m' } });
    const job = await waitFor(() => device.lastJob(), { description: 'the job', timeoutMs: 10_000 });
    // publishAsync resolves on the PUBACK: the platform stops right after it.
    await device.progress('installing', { percent: 100, bytes: 1024 });
    await device.close();
    await first.close();

    const second = await startRolloutPlatform({ dataDir: dir });
    try {
      const rows = (await second.api('GET', `/api/v1/rollouts/${created.id}/devices`)).body as { items: { deviceId: string; state: string; bytes: number }[] };
      expect(rows.items).toEqual([expect.objectContaining({ deviceId: creds.deviceId, state: 'installing', bytes: 1024 })]);
      expect(second.module.maintenance.isUpdating(creds.deviceId)).toBe(true);
      // The broker's retained store is new and empty: the job comes from the database on reconnect.
      const back = await connectSim(second.mqttUrl, creds);
      try {
        const again = await waitFor(() => back.lastJob(), { description: 'the job re-delivered', timeoutMs: 10_000 });
        expect(again.jobId).toBe(job.jobId);
        await back.progress('succeeded');
        await waitRollout(second, created.id, (d) => d.state === 'succeeded', 'the rollout completes after the restart');
        // A report for a job the platform never issued is acknowledged and ignored.
        await back.progress('failed', {}, 'job_unknown');
        await waitFor(async () => (await second.metric('outpost_ota_progress_reports_total', { outcome: 'unknown' })) === 1, { description: 'unknown job counted', timeoutMs: 5_000 });
        expect((await detail(second, created.id)).counts).toEqual({ succeeded: 1 });
      } finally {
        await back.close();
      }
    } finally {
      await second.close();
    }
  });
});
