/**
 * The OTA repositories on both state engines (issue 15): firmware artifacts, TrustSet versions
 * (the signing keys), rollouts and their devices — counts, busy devices, the job to re-deliver.
 */
import type { Manifest, Signature, TrustSet } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations, startStateEngine, STATE_ENGINES, type StateEngine, type TestStateDatabase } from '@outpost/e2e';
import { ArtifactStore } from '../src/adapters/artifact-store.js';
import { otaMigrations, type OtaTables } from '../src/adapters/ota-tables.js';
import { TrustSetStore } from '../src/adapters/trust-set-store.js';
import { rolloutMigrations } from '../src/rollouts/adapters/rollout-tables.js';
import { RolloutStore, type RolloutDeviceRow, type RolloutRow } from '../src/rollouts/adapters/rollout-store.js';

const T = 1_765_000_000_000;

function rollout(id: string, patch: Partial<RolloutRow> = {}): RolloutRow {
  return {
    id, name: id, artifact_id: 'fw-1', spec: '{}', state: 'running', wave_sizes: '[2]', current_wave: 0, wave_started_at: T, soak_since: null, override_wave: -1,
    start_at: null, reason_code: null, reason_message: null, reason_at: null, created_by: 'admin', created_at: T, updated_at: T, ...patch,
  };
}

function member(rolloutId: string, deviceId: string, patch: Partial<RolloutDeviceRow> = {}): RolloutDeviceRow {
  return {
    rollout_id: rolloutId, device_id: deviceId, wave: 0, position: deviceId, state: 'pending', job_id: null, job: null, percent: null, bytes: null,
    error_code: null, error_message: null, attempts: 0, queued_at: null, progress_at: null, finished_at: null, updated_at: T, ...patch,
  };
}

describe.each(STATE_ENGINES)('OTA state on %s', (name) => {
  let engine: StateEngine;
  let state: TestStateDatabase;
  beforeAll(async () => {
    engine = await startStateEngine(name);
    state = await engine.open();
    expect(await runMigrations(state.db, 'ota', otaMigrations)).toEqual(['0001-ota-keys-artifacts']);
    expect(await runMigrations(state.db, 'ota_rollouts', rolloutMigrations)).toEqual(['0001-rollouts']);
  });
  afterAll(async () => {
    await state?.close();
    await engine?.stop();
  });

  it('applies migrations once', async () => {
    expect(await runMigrations(state.db, 'ota', otaMigrations)).toEqual([]);
    expect(await runMigrations(state.db, 'ota_rollouts', rolloutMigrations)).toEqual([]);
  });

  it('keeps artifacts once per id, newest first, counted by content (sizes past 2 GiB)', async () => {
    const artifacts = new ArtifactStore(state.db.withTables<OtaTables>());
    const manifest = { name: 'fw', version: '1.0.0', type: 'rootfs' } as unknown as Manifest;
    const record = { id: 'fw-1', manifest, signature: { keyId: 'k1' } as unknown as Signature, size: 3 * 1024 ** 3, sha256: 'abc', uploadedBy: 'admin', uploadedAt: T };
    expect(await artifacts.insert(record)).toBe(true);
    expect(await artifacts.insert(record)).toBe(false);
    expect(await artifacts.insert({ ...record, id: 'fw-2', uploadedAt: T + 1 })).toBe(true);
    expect(await artifacts.get('fw-1')).toEqual(record);
    expect((await artifacts.list(10)).map((a) => a.id)).toEqual(['fw-2', 'fw-1']);
    expect((await artifacts.list(10, [T + 1, 'fw-2'])).map((a) => a.id)).toEqual(['fw-1']);
    expect(await artifacts.countBySha256('abc')).toBe(2);
    expect(await artifacts.delete('fw-2')).toBe(true);
    expect(await artifacts.count()).toBe(1);
  });

  it('appends TrustSet versions once; the newest is current', async () => {
    const sets = new TrustSetStore(state.db.withTables<OtaTables>());
    expect((await sets.current()).version).toBe(0);
    const v1 = { v: 1, version: 1, keys: [{ keyId: 'k1', alg: 'ed25519', publicKey: 'pk1' }], signatures: [] } as unknown as TrustSet;
    const v2 = { ...v1, version: 2, keys: [...v1.keys, { keyId: 'k2', alg: 'ed25519', publicKey: 'pk2' }] } as unknown as TrustSet;
    expect(await sets.append(v1, 'admin', T)).toBe(true);
    expect(await sets.append(v1, 'admin', T)).toBe(false);
    expect(await sets.append(v2, 'admin', T + 1)).toBe(true);
    expect((await sets.current()).version).toBe(2);
    expect((await sets.history(10, 2)).map((h) => h.set.version)).toEqual([1]);
    expect(await sets.firstVersions()).toEqual(new Map([['k1', { version: 1, at: T }], ['k2', { version: 2, at: T + 1 }]]));
  });

  it('keeps rollouts and their devices: counts by wave and state, busy devices, the job to re-deliver', async () => {
    const rollouts = new RolloutStore(state.db);
    await rollouts.insert(rollout('r1'), [member('r1', 'd1'), member('r1', 'd2')]);
    await rollouts.insert(rollout('r0', { state: 'succeeded', created_at: T - 1 }), [member('r0', 'd1', { state: 'succeeded', job_id: 'j0', job: '{"old":true}', queued_at: null })]);
    await rollouts.updateDevices('r1', [
      { deviceId: 'd1', patch: { state: 'downloading', job_id: 'j1', job: '{"new":true}', queued_at: T + 5, percent: 42.5, bytes: 3 * 1024 ** 3 } },
      { deviceId: 'd2', patch: { state: 'queued', job_id: 'j2', job: '{}', queued_at: T + 6 } },
    ]);
    expect((await rollouts.counts('r1')).sort((a, b) => a.state.localeCompare(b.state))).toEqual([{ wave: 0, state: 'downloading', n: 1 }, { wave: 0, state: 'queued', n: 1 }]);
    expect((await rollouts.busy(['d1', 'd3'])).map((b) => b.rolloutId)).toEqual(['r1']);
    expect((await rollouts.activeDeviceIds()).sort()).toEqual(['d1', 'd2']);
    expect(await rollouts.deviceByJob('d1', 'j1')).toMatchObject({ percent: 42.5, bytes: 3 * 1024 ** 3 });
    // The job to re-deliver: the newest active one; a job with no queued_at never comes first.
    await rollouts.updateDevice('r0', 'd1', { state: 'cancelled' });
    expect((await rollouts.jobToDeliver('d1'))?.job_id).toBe('j1');
    expect((await rollouts.list({ limit: 10 })).map((r) => r.id)).toEqual(['r1', 'r0']);
    expect((await rollouts.unfinished()).map((r) => r.id)).toEqual(['r1']);
    expect(await rollouts.hasActiveJob('d1', 'fw-1')).toBe(true);
    expect(await rollouts.artifactInUse('fw-1')).toBe(true);
    expect(await rollouts.deviceCount()).toBe(3);
    expect(await rollouts.rolloutsByState()).toEqual(expect.arrayContaining([{ state: 'running', n: 1 }, { state: 'succeeded', n: 1 }]));
  });
});
