/**
 * The operator's side of rollouts: create (target resolved, waves sized, devices assigned),
 * pause, resume, abort, retry, and the views of the API. Every refusal is coded.
 */
import { OutpostError } from '@outpost/protocol';
import type { Clock, RegistryPort } from '@outpost/kernel';
import { waveTotals } from '../domain/gate.js';
import { FAILED_DEVICE_STATES, FINAL_ROLLOUT_STATES, type DeviceState, type RolloutSpec, type RolloutState } from '../domain/rollout-spec.js';
import { waveSizes } from '../domain/wave-sizing.js';
import type { RolloutDeviceRow, RolloutRow, RolloutStore } from '../adapters/rollout-store.js';
import type { DeviceOtaEntry, RolloutDeviceView, RolloutView } from '../http/rollout-schemas.js';
import { countsByWave, newDeviceRow, positionOf, sizesOf, specOf } from '../adapters/rollout-rows.js';
import type { RolloutEngine } from './rollout-engine.js';

export interface ServiceDeps {
  readonly store: RolloutStore;
  readonly engine: RolloutEngine;
  readonly registry: RegistryPort;
  readonly clock: Clock;
  newId(prefix: string): string;
}

export interface WaveProgress {
  index: number;
  size: number;
  counts: Record<string, number>;
  startedAt: number | null;
  gate: { status: 'pending' | 'waiting' | 'soaking' | 'passed' | 'breached' | 'skipped'; reason: string };
}

function notFound(id: string): OutpostError {
  return new OutpostError('ROLLOUT_NOT_FOUND', `no rollout ${id}`);
}

function stateConflict(row: RolloutRow, action: string, allowed: readonly RolloutState[]): OutpostError {
  return new OutpostError('ROLLOUT_STATE_CONFLICT', `rollout ${row.id} is ${row.state}: ${action} needs it ${allowed.join(' or ')}`, { details: { state: row.state } });
}

export class RolloutService {
  readonly #deps: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async create(spec: RolloutSpec & { startAt?: number; startNow: boolean }, createdBy: string): Promise<RolloutView> {
    const { store, registry, clock, engine } = this.#deps;
    const artifact = await engine.artifact(spec.artifactId);
    if (artifact === undefined) throw new OutpostError('ROLLOUT_ARTIFACT_UNKNOWN', `artifactId: no firmware artifact ${spec.artifactId} (upload it with outpost firmware upload)`);
    const { group, tags, devices } = spec.target;
    if (group !== undefined && !(await registry.groupExists(group))) throw new OutpostError('ROLLOUT_GROUP_UNKNOWN', `target.group: no group ${group}`);
    let ids: string[];
    if (devices !== undefined) {
      ids = [];
      for (const id of devices) {
        const found = await registry.lookup(id);
        if (found === undefined) throw new OutpostError('ROLLOUT_DEVICE_UNKNOWN', `target.devices: no device ${id}`, { details: { deviceId: id } });
        if (found.status !== 'active') continue;
        if (group !== undefined && found.group !== group) continue;
        if (Object.entries(tags ?? {}).some(([k, v]) => found.tags[k] !== v)) continue;
        ids.push(id);
      }
    } else {
      const candidates = await registry.deviceIds({ ...(group === undefined ? {} : { group }), ...(tags === undefined ? {} : { tags }) });
      ids = [];
      for (const id of candidates) if ((await registry.lookup(id))?.status === 'active') ids.push(id);
    }
    if (ids.length === 0) throw new OutpostError('ROLLOUT_NO_DEVICES', 'target: no active device matches it');
    const busy = await store.busy(ids);
    if (busy.length > 0) {
      const first = busy[0];
      throw new OutpostError('ROLLOUT_DEVICE_BUSY', `${busy.length} target device(s) are in an unfinished rollout (e.g. ${first?.deviceId} in ${first?.rolloutId}); finish or abort it first`, {
        details: { devices: busy.slice(0, 20) },
      });
    }
    const now = clock.now();
    const id = this.#deps.newId('rollout');
    const sizes = waveSizes(ids.length, spec.waves);
    const ordered = ids.map((deviceId) => ({ deviceId, position: positionOf(id, deviceId) })).sort((a, b) => (a.position < b.position ? -1 : 1));
    const rows: RolloutDeviceRow[] = [];
    let wave = 0;
    let left = sizes[0] ?? 0;
    for (const { deviceId } of ordered) {
      while (left === 0 && wave < sizes.length - 1) left = sizes[++wave] ?? 0;
      rows.push(newDeviceRow(id, deviceId, wave, now));
      left -= 1;
    }
    const scheduled = spec.startAt !== undefined && spec.startAt > now;
    const state: RolloutState = scheduled ? 'scheduled' : spec.startNow || spec.startAt !== undefined ? 'running' : 'draft';
    const { startAt, startNow, ...stored } = spec;
    void startNow;
    const row: RolloutRow = {
      id,
      name: spec.name,
      artifact_id: spec.artifactId,
      spec: JSON.stringify(stored),
      state,
      wave_sizes: JSON.stringify(sizes),
      current_wave: -1,
      wave_started_at: null,
      soak_since: null,
      override_wave: -1,
      start_at: startAt ?? null,
      reason_code: null,
      reason_message: null,
      reason_at: null,
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    };
    await store.insert(row, rows);
    // The first wave goes out at once rather than at the next tick.
    if (state === 'running') await engine.locked(id, async () => engine.tickOne(id));
    return this.view(id);
  }

  async view(id: string): Promise<RolloutView> {
    const row = await this.#deps.store.get(id);
    if (row === undefined) throw notFound(id);
    return this.#view(row, await this.#deps.store.counts(id));
  }

  #view(row: RolloutRow, counts: readonly { state: string; n: number }[]): RolloutView {
    const spec = specOf(row);
    const totals: Record<string, number> = {};
    let devices = 0;
    for (const c of counts) {
      totals[c.state] = (totals[c.state] ?? 0) + c.n;
      devices += c.n;
    }
    return {
      id: row.id,
      name: row.name,
      artifactId: row.artifact_id,
      state: row.state as RolloutState,
      target: spec.target,
      waves: spec.waves,
      gate: spec.gate,
      allowDowngrade: spec.allowDowngrade,
      confirmDeadlineS: spec.confirmDeadlineS,
      startAt: row.start_at,
      currentWave: row.current_wave,
      waveCount: sizesOf(row).length,
      devices,
      counts: totals,
      reason: row.reason_code === null ? null : { code: row.reason_code, message: row.reason_message ?? '', at: row.reason_at ?? row.updated_at },
      createdBy: row.created_by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async detail(id: string): Promise<RolloutView & { wavesProgress: WaveProgress[] }> {
    const { store, engine, clock } = this.#deps;
    const row = await store.get(id);
    if (row === undefined) throw notFound(id);
    const rows = await store.allDevices(id);
    const byWave = countsByWave(rows);
    const counts = [...byWave.values()].flatMap((c) => Object.entries(c).map(([state, n]) => ({ state, n })));
    const spec = specOf(row);
    const current = row.state === 'running' || row.state === 'paused' ? engine.gateOf(row, spec, rows, clock.now()) : undefined;
    const wavesProgress: WaveProgress[] = sizesOf(row).map((size, index) => {
      const waveCounts = byWave.get(index) ?? {};
      let gate: WaveProgress['gate'];
      if (index < row.current_wave) gate = row.override_wave === index ? { status: 'skipped', reason: 'count gate skipped by an operator on resume' } : { status: 'passed', reason: 'passed' };
      else if (index > row.current_wave) gate = { status: 'pending', reason: 'not started' };
      else if (current !== undefined) gate = { status: current.status, reason: current.reason };
      else if (row.state === 'succeeded') gate = { status: 'passed', reason: 'passed' };
      else if (row.reason_code?.startsWith('GATE_') === true) gate = { status: 'breached', reason: row.reason_message ?? '' };
      else gate = { status: 'pending', reason: row.state };
      return { index, size: waveTotals(waveCounts).size + (waveCounts.cancelled ?? 0), counts: { ...waveCounts }, startedAt: index === row.current_wave ? row.wave_started_at : null, gate };
    });
    return { ...this.#view(row, counts), wavesProgress };
  }

  async list(options: { limit: number; state?: RolloutState; after?: readonly [number, string] }): Promise<{ views: RolloutView[]; rows: RolloutRow[] }> {
    const rows = await this.#deps.store.list(options);
    const views: RolloutView[] = [];
    for (const row of rows) views.push(this.#view(row, await this.#deps.store.counts(row.id)));
    return { views, rows };
  }

  /**
   * One device's OTA history, newest rollout first: the rollout, the artifact it brought and the
   * one before it, the device's state, percent and failure. DEVICE_NOT_FOUND for an unknown id.
   */
  async deviceHistory(deviceId: string, options: { limit: number; after?: readonly [number, string] }): Promise<{ items: DeviceOtaEntry[]; last?: readonly [number, string] }> {
    const { store, registry, engine } = this.#deps;
    if ((await registry.lookup(deviceId)) === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
    const rows = await store.historyOfDevice(deviceId, options);
    const ref = async (artifactId: string | undefined): Promise<DeviceOtaEntry['artifact']> => {
      if (artifactId === undefined) return null;
      const a = await engine.artifact(artifactId);
      return a === undefined ? null : { id: a.id, name: a.manifest.name, version: a.manifest.version };
    };
    const items: DeviceOtaEntry[] = [];
    for (const row of rows) {
      items.push({
        rolloutId: row.rollout_id,
        rolloutName: row.rollout_name,
        rolloutState: row.rollout_state as RolloutState,
        artifact: await ref(row.artifact_id),
        from: await ref(await store.lastSucceededBefore(deviceId, row.rollout_created_at)),
        wave: row.wave,
        state: row.state as DeviceState,
        percent: row.percent,
        error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
        attempts: row.attempts,
        rolloutCreatedAt: row.rollout_created_at,
        queuedAt: row.queued_at,
        finishedAt: row.finished_at,
        updatedAt: row.updated_at,
      });
    }
    const lastRow = rows[rows.length - 1];
    return rows.length === options.limit && lastRow !== undefined ? { items, last: [lastRow.rollout_created_at, lastRow.rollout_id] } : { items };
  }

  async devices(id: string, options: { limit: number; state?: DeviceState; wave?: number; after?: string }): Promise<RolloutDeviceView[]> {
    if ((await this.#deps.store.get(id)) === undefined) throw notFound(id);
    return (await this.#deps.store.devices(id, options)).map(deviceView);
  }

  async pause(id: string): Promise<RolloutView> {
    return this.#act(id, async (row, now) => {
      if (row.state !== 'running' && row.state !== 'scheduled') throw stateConflict(row, 'pause', ['running', 'scheduled']);
      await this.#deps.store.update(id, { state: 'paused', reason_code: 'PAUSED', reason_message: 'paused by an operator', reason_at: now, updated_at: now });
    });
  }

  async resume(id: string, skipGate: boolean): Promise<RolloutView> {
    return this.#act(id, async (row, now) => {
      if (row.state !== 'paused' && row.state !== 'draft' && row.state !== 'scheduled') throw stateConflict(row, 'resume', ['paused', 'draft', 'scheduled']);
      await this.#deps.store.update(id, {
        state: 'running',
        reason_code: null,
        reason_message: null,
        reason_at: null,
        updated_at: now,
        ...(skipGate && row.current_wave >= 0 ? { override_wave: row.current_wave } : {}),
      });
      await this.#deps.engine.tickOne(id);
    });
  }

  async abort(id: string, by: string): Promise<RolloutView> {
    return this.#act(id, async (row) => {
      if (FINAL_ROLLOUT_STATES.has(row.state as RolloutState)) throw stateConflict(row, 'abort', ['draft', 'scheduled', 'running', 'paused']);
      await this.#deps.engine.abortNow(row, { code: 'ABORTED', message: `aborted by ${by}` }, by);
    });
  }

  async retry(id: string): Promise<RolloutView & { retried: number }> {
    let retried = 0;
    const view = await this.#act(id, async (row, now) => {
      if (row.state !== 'running' && row.state !== 'paused' && row.state !== 'succeeded') throw stateConflict(row, 'retry', ['running', 'paused', 'succeeded']);
      const artifact = await this.#deps.engine.artifact(row.artifact_id);
      if (artifact === undefined) throw new OutpostError('ROLLOUT_ARTIFACT_UNKNOWN', `artifact ${row.artifact_id} is no longer stored`);
      const failed = (await this.#deps.store.allDevices(id)).filter((device) => FAILED_DEVICE_STATES.has(device.state as DeviceState));
      await this.#deps.engine.queueJobs(row, failed, artifact, specOf(row));
      retried = failed.length;
      if (row.state === 'succeeded' && retried > 0) await this.#deps.store.update(id, { state: 'running', soak_since: null, updated_at: now });
    });
    return { ...view, retried };
  }

  async #act(id: string, fn: (row: RolloutRow, now: number) => Promise<void>): Promise<RolloutView> {
    await this.#deps.engine.locked(id, async () => {
      const row = await this.#deps.store.get(id);
      if (row === undefined) throw notFound(id);
      await fn(row, this.#deps.clock.now());
      await this.#deps.engine.publishSummary(id);
    });
    return this.view(id);
  }
}

function deviceView(row: RolloutDeviceRow): RolloutDeviceView {
  return {
    deviceId: row.device_id,
    wave: row.wave,
    state: row.state as DeviceState,
    jobId: row.job_id,
    percent: row.percent,
    bytes: row.bytes,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    attempts: row.attempts,
    queuedAt: row.queued_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}
