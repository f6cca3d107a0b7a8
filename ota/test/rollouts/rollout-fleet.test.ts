import { createHash } from 'node:crypto';
import { waitFor } from '@outpost/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceGet } from '../helpers/device-https.js';
import { artifactBytes, newKey, signedFor, trustFirstKey, upload } from '../helpers/firmware.js';
import { startOtaPlatform, type OtaPlatform } from '../helpers/ota-platform.js';
import { connectSim, type SimDevice } from './helpers/rollout-platform.js';

interface Timeline {
  jobAt?: number;
  doneAt?: number;
}

/**
 * The OTA part as `outpost server` composes it (the firmware store of the part, not a stand-in):
 * a signed artifact uploaded through the API, 20 simulated devices in 3 waves, each downloading
 * the artifact from its job's URL with its own certificate and reporting progress over MQTT.
 */
describe('a rollout of an uploaded artifact to 20 devices in 3 waves', () => {
  let p: OtaPlatform;
  const sims: SimDevice[] = [];
  beforeAll(async () => {
    p = await startOtaPlatform({ env: { OUTPOST_OTA_TICK: '100ms' } });
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await p.close();
  });

  it('updates every device, wave after wave, each from its own verified download', async () => {
    const key = newKey();
    await trustFirstKey(p, key);
    const bytes = artifactBytes(64 * 1024 + 3);
    const signed = await signedFor(bytes, key, { version: '2.0.0' });
    expect((await upload(p, { ...signed, artifact: bytes })).status).toBe(201);
    const artifactId = signed.manifest.id;

    const timeline = new Map<string, Timeline>();
    const failures: string[] = [];
    for (let i = 1; i <= 20; i += 1) {
      const creds = await p.enroll(`fleet-${String(i).padStart(2, '0')}`);
      const sim = await connectSim(p.mqttUrl, creds);
      sims.push(sim);
      timeline.set(sim.id, {});
      // The device side of a job: download with its certificate, verify, report, confirm.
      sim.client.on('message', (topic) => {
        if (!topic.endsWith('/ota/job')) return;
        const job = sim.lastJob();
        if (job === undefined || job.cancel === true) return;
        const t = timeline.get(sim.id) ?? {};
        t.jobAt ??= Date.now();
        void (async () => {
          await sim.progress('downloading', { percent: 0, bytes: 0 });
          const answer = await deviceGet(job.url, creds.caPem, creds);
          const sha = createHash('sha256').update(answer.body).digest('hex');
          if (answer.status !== 200 || sha !== job.manifest.sha256) {
            failures.push(`${sim.id}: ${answer.status} ${sha}`);
            await sim.progress('failed', { error: { code: 'OTA_SHA256_MISMATCH', message: 'bad download' } });
            return;
          }
          await sim.progress('verifying', { percent: 100, bytes: answer.body.length });
          await sim.progress('installing');
          await sim.progress('health-checking');
          t.doneAt = Date.now();
          await sim.progress('succeeded');
        })().catch((err: unknown) => failures.push(`${sim.id}: ${String(err)}`));
      });
    }

    const created = await p.api('POST', '/api/v1/rollouts', { artifactId, target: { group: 'test' }, waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }], gate: { soak: '1s', deviceTimeout: '1m' } });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const done = await waitFor(
      async () => {
        const d = (await p.api('GET', `/api/v1/rollouts/${id}`)).body as { state: string; counts: Record<string, number>; wavesProgress: { size: number; gate: { status: string } }[] };
        return d.state === 'succeeded' ? d : undefined;
      },
      { description: 'the rollout succeeds', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(failures).toEqual([]);
    expect(done.counts).toEqual({ succeeded: 20 });
    expect(done.wavesProgress.map((w) => w.size)).toEqual([2, 8, 10]);
    expect(done.wavesProgress.every((w) => w.gate.status === 'passed')).toBe(true);

    const devices = (await p.api('GET', `/api/v1/rollouts/${id}/devices?limit=100`)).body as { items: { deviceId: string; wave: number; state: string; bytes: number }[] };
    expect(devices.items).toHaveLength(20);
    expect(devices.items.every((d) => d.state === 'succeeded' && d.bytes === bytes.length)).toBe(true);
    // No device of a wave got its job before every device of the previous wave had confirmed.
    for (const wave of [1, 2]) {
      const before = devices.items.filter((d) => d.wave === wave - 1).map((d) => timeline.get(d.deviceId)?.doneAt ?? Infinity);
      const after = devices.items.filter((d) => d.wave === wave).map((d) => timeline.get(d.deviceId)?.jobAt ?? -Infinity);
      expect(Math.min(...after)).toBeGreaterThanOrEqual(Math.max(...before));
    }
    expect(await p.metric('outpost_ota_jobs', { state: 'succeeded' })).toBe(20);
  }, 120_000);
});
