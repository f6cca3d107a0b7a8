/**
 * The rollout state machine (issue 13, item 5). On each tick it starts scheduled rollouts,
 * times out devices, judges the current wave's gate and starts the next wave, pauses or aborts
 * on a breach. Jobs are stored per device and published retained; progress reports are stored
 * before their PUBACK. Every rollout action runs under a per-rollout lock.
 */
import type { AuditPort, Clock, DeviceChannel, InboxMessage, LivePort, Log, RegistryPort } from '@outpost/kernel';
import type { OtaJob, OtaProgress } from '@outpost/protocol';
import { BREACH_CODES, evaluateGate, type GateStatus, type HealthFigures, type WaveCounts } from '../domain/gate.js';
import { ACTIVE_DEVICE_STATES, FINAL_DEVICE_STATES, type DeviceState, type RolloutSpec, type RolloutState } from '../domain/rollout-spec.js';
import type { RolloutMetrics } from '../adapters/rollout-metrics.js';
import type { RolloutDeviceRow, RolloutRow, RolloutStore } from '../adapters/rollout-store.js';
import { countsByWave, matchesTarget, newDeviceRow, sizesOf, specOf } from '../adapters/rollout-rows.js';
import type { ArtifactLookup, StoredArtifact } from '../rollout-module.js';
import { HealthTracker } from './health-tracker.js';
import { RolloutLive } from './rollout-live.js';

export interface EngineDeps {
  readonly store: RolloutStore;
  readonly artifacts: ArtifactLookup;
  readonly registry: RegistryPort;
  readonly channel: DeviceChannel;
  readonly live: LivePort;
  readonly audit: AuditPort;
  readonly log: Log;
  readonly clock: Clock;
  readonly metrics: RolloutMetrics;
  /** The download URL of an artifact on the device listener. */
  jobUrl(artifactId: string): string;
  newId(prefix: string): string;
}

export class RolloutEngine {
  readonly #deps: EngineDeps;
  readonly health = new HealthTracker();
  /** Devices with an active job (the maintenance port's answer). */
  readonly updating = new Set<string>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #artifacts = new Map<string, StoredArtifact>();
  /** When the engine started: the silence clock of devices it has not heard from yet. */
  #startedAt = 0;

  readonly #live: RolloutLive;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#live = new RolloutLive(deps.store, deps.live);
  }

  async start(): Promise<void> {
    this.#startedAt = this.#deps.clock.now();
    for (const id of await this.#deps.store.activeDeviceIds()) this.updating.add(id);
  }

  /** Runs `fn` after every earlier action on the same rollout. */
  locked<T>(rolloutId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(rolloutId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(rolloutId, settled);
    void settled.then(() => {
      if (this.#locks.get(rolloutId) === settled) this.#locks.delete(rolloutId);
    });
    return run;
  }

  async artifact(artifactId: string): Promise<StoredArtifact | undefined> {
    const cached = this.#artifacts.get(artifactId);
    if (cached !== undefined) return cached;
    const found = await this.#deps.artifacts.get(artifactId);
    if (found !== undefined) this.#artifacts.set(artifactId, found);
    return found;
  }

  // ---- the tick -------------------------------------------------------------------------

  async tick(): Promise<void> {
    // Devices still updating in a finished (aborted) rollout time out too, so none stays in maintenance forever.
    for (const row of await this.#deps.store.finishedWithActiveDevices()) {
      try {
        await this.locked(row.id, async () => {
          const now = this.#deps.clock.now();
          const spec = specOf(row);
          for (const d of await this.#deps.store.allDevices(row.id)) {
            if (ACTIVE_DEVICE_STATES.has(d.state as DeviceState) && d.queued_at !== null && now - d.queued_at > spec.gate.deviceTimeoutMs) await this.#timeOut(row, d, spec, now);
          }
        });
      } catch (err) {
        this.#deps.log.error({ err, rolloutId: row.id }, 'rollouts: could not time out the devices of a finished rollout');
      }
    }
    for (const row of await this.#deps.store.unfinished()) {
      try {
        await this.locked(row.id, () => this.#advance(row.id));
      } catch (err) {
        this.#deps.log.error({ err, rolloutId: row.id }, 'rollouts: could not advance a rollout');
      }
    }
  }

  /** One rollout's step, for callers already holding its lock (create, resume). */
  async tickOne(id: string): Promise<void> {
    await this.#advance(id);
  }

  async #advance(id: string): Promise<void> {
    const { store, clock } = this.#deps;
    let row = await store.get(id);
    if (row === undefined) return;
    const now = clock.now();
    if (row.state === 'scheduled' && row.start_at !== null && row.start_at <= now) {
      await store.update(id, { state: 'running', updated_at: now });
      await this.#record(row, 'rollout.start', 'scheduled start');
      row = { ...row, state: 'running' };
    }
    if (row.state !== 'running' && row.state !== 'paused') return;
    const spec = specOf(row);
    const artifact = await this.artifact(row.artifact_id);
    if (artifact === undefined) {
      await this.#finish(row, 'failed', { code: 'ROLLOUT_ARTIFACT_GONE', message: `artifact ${row.artifact_id} is no longer stored` });
      return;
    }
    let rows = await store.allDevices(id);
    const timedOut = rows.filter((d) => ACTIVE_DEVICE_STATES.has(d.state as DeviceState) && d.queued_at !== null && now - d.queued_at > spec.gate.deviceTimeoutMs);
    for (const d of timedOut) await this.#timeOut(row, d, spec, now);
    if (timedOut.length > 0) rows = await store.allDevices(id);
    if (row.state === 'running') {
      if (row.current_wave < 0) {
        await this.#startWave(row, 0, artifact, spec, now);
      } else {
        const gate = this.gateOf(row, spec, rows, now);
        if (gate.status === 'breached') {
          await this.#breach(row, gate);
        } else if (gate.status === 'soaking' && row.soak_since === null) {
          await store.update(id, { soak_since: gate.soakSince, updated_at: now });
        } else if (gate.status === 'waiting' && row.soak_since !== null) {
          await store.update(id, { soak_since: null, updated_at: now });
        } else if (gate.status === 'passed') {
          const last = sizesOf(row).length - 1;
          if (row.current_wave >= last) await this.#finish(row, 'succeeded', null);
          else await this.#startWave(row, row.current_wave + 1, artifact, spec, now);
        }
      }
    }
    await this.publishSummary(id);
  }

  /** The current wave's gate as it stands (no side effects). */
  gateOf(row: RolloutRow, spec: RolloutSpec, rows: readonly RolloutDeviceRow[], now: number): GateStatus {
    const counts: WaveCounts = countsByWave(rows).get(row.current_wave) ?? {};
    const health = spec.gate.health === undefined ? undefined : this.#healthOf(row, spec, rows, now);
    return evaluateGate({
      rules: spec.gate,
      counts,
      now,
      ...(row.soak_since === null ? {} : { soakSince: row.soak_since }),
      ...(health === undefined ? {} : { health }),
      countsOverridden: row.override_wave === row.current_wave,
    });
  }

  #healthOf(row: RolloutRow, spec: RolloutSpec, rows: readonly RolloutDeviceRow[], now: number): { updated: HealthFigures; baseline: HealthFigures } | undefined {
    const h = spec.gate.health;
    if (h === undefined) return undefined;
    const start = Math.max(this.#startedAt, row.created_at);
    const updated = rows.filter((d) => d.state === 'succeeded').map((d) => ({ deviceId: d.device_id, since: Math.max(d.finished_at ?? start, this.#startedAt) }));
    const baseline = rows.filter((d) => d.state === 'pending' || d.state === 'queued').map((d) => ({ deviceId: d.device_id, since: start }));
    const rolledBack = rows.filter((d) => d.state === 'rolled-back' && (d.finished_at ?? 0) >= now - h.windowMs).length;
    return {
      updated: { ...this.health.figures(updated, h, now), rolledBack },
      baseline: { ...this.health.figures(baseline, h, now), rolledBack: 0 },
    };
  }

  async #breach(row: RolloutRow, gate: Extract<GateStatus, { status: 'breached' }>): Promise<void> {
    const now = this.#deps.clock.now();
    const reason = { code: BREACH_CODES[gate.kind], message: `wave ${row.current_wave + 1}: ${gate.reason}` };
    this.#deps.metrics.breach(gate.kind, gate.action);
    this.#deps.log.warn({ rolloutId: row.id, wave: row.current_wave, kind: gate.kind, action: gate.action, reason: gate.reason }, `rollout ${row.id}: gate breached, ${gate.action}`);
    if (gate.action === 'abort') {
      await this.abortNow(row, reason, 'system');
      return;
    }
    await this.#deps.store.update(row.id, { state: 'paused', reason_code: reason.code, reason_message: reason.message, reason_at: now, updated_at: now });
    await this.#record(row, 'rollout.pause', reason.message);
  }

  async #finish(row: RolloutRow, state: RolloutState, reason: { code: string; message: string } | null): Promise<void> {
    const now = this.#deps.clock.now();
    await this.#deps.store.update(row.id, {
      state,
      updated_at: now,
      ...(reason === null ? {} : { reason_code: reason.code, reason_message: reason.message, reason_at: now }),
    });
    await this.#record(row, `rollout.${state === 'succeeded' ? 'succeed' : 'fail'}`, reason?.message ?? state);
  }

  async #startWave(row: RolloutRow, wave: number, artifact: StoredArtifact, spec: RolloutSpec, now: number): Promise<void> {
    await this.#deps.store.update(row.id, { current_wave: wave, wave_started_at: now, soak_since: null, updated_at: now });
    this.#deps.log.info({ rolloutId: row.id, wave }, `rollout ${row.id}: wave ${wave + 1} starts`);
    const pending = (await this.#deps.store.devicesOfWave(row.id, wave)).filter((d) => d.state === 'pending');
    await this.queueJobs(row, pending, artifact, spec);
  }

  /** Gives a device a new job: stored first, then published retained. */
  async queueJob(row: Pick<RolloutRow, 'id' | 'artifact_id'>, device: RolloutDeviceRow, artifact: StoredArtifact, spec: RolloutSpec): Promise<void> {
    await this.queueJobs(row, [device], artifact, spec);
  }

  /** Gives devices new jobs: all stored in one transaction, then each published retained. */
  async queueJobs(row: Pick<RolloutRow, 'id' | 'artifact_id'>, devices: readonly RolloutDeviceRow[], artifact: StoredArtifact, spec: RolloutSpec): Promise<void> {
    if (devices.length === 0) return;
    const now = this.#deps.clock.now();
    const made = devices.map((device) => ({ device, job: this.#jobFor(row, artifact, spec) }));
    await this.#deps.store.updateDevices(
      row.id,
      made.map(({ device, job }) => ({
        deviceId: device.device_id,
        patch: {
          state: 'queued',
          job_id: job.jobId,
          job: JSON.stringify(job),
          percent: null,
          bytes: null,
          error_code: null,
          error_message: null,
          attempts: device.attempts + 1,
          queued_at: now,
          progress_at: null,
          finished_at: null,
          updated_at: now,
        },
      })),
    );
    for (const { device, job } of made) {
      this.updating.add(device.device_id);
      this.#live.device(row.id, device.device_id, device.wave, 'queued');
      await this.#deliver(device.device_id, job);
    }
  }

  #jobFor(row: Pick<RolloutRow, 'id' | 'artifact_id'>, artifact: StoredArtifact, spec: RolloutSpec): OtaJob {
    const jobId = this.#deps.newId('job');
    const job: OtaJob = {
      v: 1,
      jobId,
      rolloutId: row.id,
      manifest: artifact.manifest,
      signature: { keyId: artifact.signature.keyId, sig: artifact.signature.sig },
      url: this.#deps.jobUrl(row.artifact_id),
      allowDowngrade: spec.allowDowngrade,
      confirmDeadlineS: spec.confirmDeadlineS,
    };
    return job;
  }

  async #deliver(deviceId: string, job: OtaJob): Promise<void> {
    try {
      await this.#deps.channel.publishOtaJob(deviceId, job);
    } catch (err) {
      // The database holds the job: it is published again when the device comes online.
      this.#deps.log.warn({ err, deviceId, jobId: job.jobId }, 'rollouts: could not publish a job now; it is re-delivered on reconnect');
    }
  }

  async #timeOut(row: RolloutRow, device: RolloutDeviceRow, spec: RolloutSpec, now: number): Promise<void> {
    const message = `no final report within ${Math.round(spec.gate.deviceTimeoutMs / 1000)}s of the job (last state ${device.state})`;
    await this.#deps.store.updateDevice(row.id, device.device_id, { state: 'timed-out', error_code: 'OTA_DEVICE_TIMEOUT', error_message: message, finished_at: now, updated_at: now });
    this.#settled(device.device_id);
    this.#live.device(row.id, device.device_id, device.wave, 'timed-out');
    // A device that comes back must not go on with a job the rollout already counted as failed.
    if (device.job !== null) await this.#cancelJob(row.id, device, now, 'timed-out');
  }

  async #cancelJob(rolloutId: string, device: RolloutDeviceRow, now: number, state: DeviceState): Promise<void> {
    if (device.job === null) return;
    const job = { ...(JSON.parse(device.job) as OtaJob), cancel: true };
    await this.#deps.store.updateDevice(rolloutId, device.device_id, { job: JSON.stringify(job), updated_at: now, state });
    await this.#deliver(device.device_id, job);
  }

  /** Aborts: devices not started get `cancel: true`; the rollout is final. */
  async abortNow(row: RolloutRow, reason: { code: string; message: string }, actor: string): Promise<void> {
    const now = this.#deps.clock.now();
    await this.#deps.store.update(row.id, { state: 'aborted', reason_code: reason.code, reason_message: reason.message, reason_at: now, updated_at: now });
    for (const device of await this.#deps.store.allDevices(row.id)) {
      if (device.state === 'pending') {
        await this.#deps.store.updateDevice(row.id, device.device_id, { state: 'cancelled', finished_at: now, updated_at: now });
      } else if (device.state === 'queued') {
        await this.#cancelJob(row.id, device, now, 'cancelled');
        await this.#deps.store.updateDevice(row.id, device.device_id, { finished_at: now });
        this.#settled(device.device_id);
      }
    }
    await this.#record(row, 'rollout.abort', reason.message, actor);
    await this.publishSummary(row.id);
  }

  #settled(deviceId: string): void {
    this.updating.delete(deviceId);
  }

  // ---- device → platform -----------------------------------------------------------------

  /** Stores one progress report (awaited before its PUBACK). Unknown jobs and stale reports are logged and ignored. */
  async onProgress(message: InboxMessage<OtaProgress>): Promise<void> {
    const { store, clock, log, metrics } = this.#deps;
    const { deviceId, payload } = message;
    const device = await store.deviceByJob(deviceId, payload.jobId);
    if (device === undefined) {
      metrics.report('unknown');
      log.info({ deviceId, jobId: payload.jobId, state: payload.state }, 'rollouts: progress for an unknown job, ignored');
      return;
    }
    const from = device.state as DeviceState;
    const to: DeviceState = payload.state;
    const lateTruth = (from === 'timed-out' || from === 'cancelled') && FINAL_DEVICE_STATES.has(to);
    const stale = (device.progress_at !== null && payload.at < device.progress_at) || (FINAL_DEVICE_STATES.has(from) && !lateTruth) || from === 'pending';
    if (stale) {
      metrics.report('stale');
      log.debug({ deviceId, jobId: payload.jobId, from, to }, 'rollouts: stale progress report ignored');
      return;
    }
    const now = clock.now();
    const final = FINAL_DEVICE_STATES.has(to);
    await store.updateDevice(device.rollout_id, deviceId, {
      state: to,
      percent: payload.percent ?? (to === 'succeeded' ? 100 : device.percent),
      bytes: payload.bytes ?? device.bytes,
      error_code: payload.error?.code ?? (final && to !== 'succeeded' ? device.error_code : null),
      error_message: payload.error?.message ?? (final && to !== 'succeeded' ? device.error_message : null),
      progress_at: payload.at,
      updated_at: now,
      ...(final ? { finished_at: now } : {}),
    });
    metrics.report('applied');
    if (final) this.#settled(deviceId);
    else this.updating.add(deviceId);
    this.health.seen(deviceId, message.receivedAt);
    this.#live.device(device.rollout_id, deviceId, device.wave, to, payload);
  }

  /** A device came online: its job (active or cancelled) is published again from the database. */
  async onOnline(deviceId: string, at: number): Promise<void> {
    this.health.seen(deviceId, at);
    const device = await this.#deps.store.jobToDeliver(deviceId);
    if (device?.job === null || device === undefined) return;
    await this.#deliver(deviceId, JSON.parse(device.job) as OtaJob);
  }

  /** A device enrolled or changed group or tags: it joins the first unfinished rollout whose target it matches, in the last wave. */
  async onDeviceChanged(deviceId: string): Promise<void> {
    const { store, registry } = this.#deps;
    const summary = await registry.lookup(deviceId);
    if (summary === undefined || summary.status !== 'active') return;
    if ((await store.busy([deviceId])).length > 0) return;
    for (const candidate of await store.unfinished()) {
      const spec = specOf(candidate);
      if (!matchesTarget(spec.target, summary)) continue;
      await this.locked(candidate.id, async () => {
        const row = await store.get(candidate.id);
        if (row === undefined || (await store.busy([deviceId])).length > 0) return;
        const sizes = sizesOf(row);
        const wave = Math.max(0, sizes.length - 1);
        sizes[wave] = (sizes[wave] ?? 0) + 1;
        const now = this.#deps.clock.now();
        const device: RolloutDeviceRow = newDeviceRow(row.id, deviceId, wave, now);
        await store.addDevice(device, JSON.stringify(sizes), now);
        this.#deps.log.info({ rolloutId: row.id, deviceId, wave }, `rollout ${row.id}: ${deviceId} joins wave ${wave + 1}`);
        if (row.state === 'running' && row.current_wave === wave) {
          const artifact = await this.artifact(row.artifact_id);
          if (artifact !== undefined) await this.queueJob(row, device, artifact, spec);
        }
        await this.publishSummary(row.id);
      });
      return;
    }
  }

  // ---- live and audit ---------------------------------------------------------------------

  /** Publishes the rollout's summary on the `rollouts` live topic when it changed. */
  async publishSummary(id: string): Promise<void> {
    await this.#live.summary(id);
  }

  async #record(row: Pick<RolloutRow, 'id'>, action: string, detail: string, actor = 'system'): Promise<void> {
    if (actor !== 'system') return; // HTTP actions are audited by the platform's hook.
    try {
      await this.#deps.audit.record({ actor, action, target: `rollout:${row.id}`, outcome: 'success' });
    } catch (err) {
      this.#deps.log.error({ err, rolloutId: row.id, action, detail }, 'rollouts: could not audit');
    }
  }
}
