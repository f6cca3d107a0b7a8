/** The rollouts and their devices in the state database (the truth jobs are re-delivered from). */
import { sql, type Selectable, type Updateable } from 'kysely';
import type { StateDatabase } from '@outpost/kernel';
import { ACTIVE_DEVICE_STATES, FINAL_ROLLOUT_STATES, ROLLOUT_STATES, type DeviceState, type RolloutState } from '../domain/rollout-spec.js';
import type { RolloutDb, RolloutTables } from './rollout-tables.js';

export type RolloutRow = Selectable<RolloutTables['ota_rollouts']>;
export type RolloutDeviceRow = Selectable<RolloutTables['ota_rollout_devices']>;
export type RolloutPatch = Updateable<RolloutTables['ota_rollouts']>;
export type DevicePatch = Updateable<RolloutTables['ota_rollout_devices']>;

const UNFINISHED_ROLLOUTS = ROLLOUT_STATES.filter((s) => !FINAL_ROLLOUT_STATES.has(s));
const ACTIVE = [...ACTIVE_DEVICE_STATES];

export class RolloutStore {
  readonly #db: RolloutDb;

  constructor(db: StateDatabase) {
    this.#db = db.withTables<RolloutTables>();
  }

  async insert(rollout: RolloutRow, devices: readonly RolloutDeviceRow[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('ota_rollouts').values(rollout).execute();
      for (let i = 0; i < devices.length; i += 200) await trx.insertInto('ota_rollout_devices').values(devices.slice(i, i + 200)).execute();
    });
  }

  async get(id: string): Promise<RolloutRow | undefined> {
    return this.#db.selectFrom('ota_rollouts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Newest first; `after` is the `[createdAt, id]` of the last rollout of the previous page. */
  async list(options: { limit: number; state?: RolloutState; after?: readonly [number, string] }): Promise<RolloutRow[]> {
    let q = this.#db.selectFrom('ota_rollouts').selectAll();
    if (options.state !== undefined) q = q.where('state', '=', options.state);
    const after = options.after;
    if (after !== undefined) q = q.where((eb) => eb.or([eb('created_at', '<', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '<', after[1])])]));
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  }

  async unfinished(): Promise<RolloutRow[]> {
    return this.#db.selectFrom('ota_rollouts').selectAll().where('state', 'in', UNFINISHED_ROLLOUTS).orderBy('created_at').orderBy('id').execute();
  }

  /** Finished rollouts (e.g. aborted) that still have devices updating. */
  async finishedWithActiveDevices(): Promise<RolloutRow[]> {
    return this.#db
      .selectFrom('ota_rollouts as r')
      .selectAll('r')
      .where('r.state', 'in', [...FINAL_ROLLOUT_STATES])
      .where((eb) => eb.exists(eb.selectFrom('ota_rollout_devices as d').select('d.device_id').whereRef('d.rollout_id', '=', 'r.id').where('d.state', 'in', ACTIVE)))
      .execute();
  }

  async update(id: string, patch: RolloutPatch): Promise<void> {
    await this.#db.updateTable('ota_rollouts').set(patch).where('id', '=', id).execute();
  }

  async devices(rolloutId: string, options: { limit: number; state?: DeviceState; wave?: number; after?: string }): Promise<RolloutDeviceRow[]> {
    let q = this.#db.selectFrom('ota_rollout_devices').selectAll().where('rollout_id', '=', rolloutId);
    if (options.state !== undefined) q = q.where('state', '=', options.state);
    if (options.wave !== undefined) q = q.where('wave', '=', options.wave);
    if (options.after !== undefined) q = q.where('device_id', '>', options.after);
    return q.orderBy('device_id').limit(options.limit).execute();
  }

  /**
   * One device's part in every rollout it was in, newest rollout first; `after` is the
   * `[createdAt, rolloutId]` of the last entry of the previous page.
   */
  async historyOfDevice(deviceId: string, options: { limit: number; after?: readonly [number, string] }): Promise<(RolloutDeviceRow & { rollout_name: string; rollout_state: string; artifact_id: string; rollout_created_at: number })[]> {
    let q = this.#db
      .selectFrom('ota_rollout_devices as d')
      .innerJoin('ota_rollouts as r', 'r.id', 'd.rollout_id')
      .selectAll('d')
      .select(['r.name as rollout_name', 'r.state as rollout_state', 'r.artifact_id as artifact_id', 'r.created_at as rollout_created_at'])
      .where('d.device_id', '=', deviceId);
    const after = options.after;
    if (after !== undefined) q = q.where((eb) => eb.or([eb('r.created_at', '<', after[0]), eb.and([eb('r.created_at', '=', after[0]), eb('r.id', '<', after[1])])]));
    return q.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(options.limit).execute();
  }

  /** The artifact of the newest rollout before `before` (createdAt) in which the device succeeded. */
  async lastSucceededBefore(deviceId: string, before: number): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('ota_rollout_devices as d')
      .innerJoin('ota_rollouts as r', 'r.id', 'd.rollout_id')
      .select('r.artifact_id')
      .where('d.device_id', '=', deviceId)
      .where('d.state', '=', 'succeeded')
      .where('r.created_at', '<', before)
      .orderBy('r.created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.artifact_id;
  }

  async devicesOfWave(rolloutId: string, wave: number): Promise<RolloutDeviceRow[]> {
    return this.#db.selectFrom('ota_rollout_devices').selectAll().where('rollout_id', '=', rolloutId).where('wave', '=', wave).orderBy('position').execute();
  }

  async allDevices(rolloutId: string): Promise<RolloutDeviceRow[]> {
    return this.#db.selectFrom('ota_rollout_devices').selectAll().where('rollout_id', '=', rolloutId).execute();
  }

  async counts(rolloutId: string): Promise<{ wave: number; state: string; n: number }[]> {
    const rows = await this.#db
      .selectFrom('ota_rollout_devices')
      .select(['wave', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('rollout_id', '=', rolloutId)
      .groupBy(['wave', 'state'])
      .execute();
    return rows.map((r) => ({ wave: r.wave, state: r.state, n: Number(r.n) }));
  }

  async device(rolloutId: string, deviceId: string): Promise<RolloutDeviceRow | undefined> {
    return this.#db.selectFrom('ota_rollout_devices').selectAll().where('rollout_id', '=', rolloutId).where('device_id', '=', deviceId).executeTakeFirst();
  }

  async deviceByJob(deviceId: string, jobId: string): Promise<RolloutDeviceRow | undefined> {
    return this.#db.selectFrom('ota_rollout_devices').selectAll().where('job_id', '=', jobId).where('device_id', '=', deviceId).executeTakeFirst();
  }

  async updateDevice(rolloutId: string, deviceId: string, patch: DevicePatch): Promise<void> {
    await this.#db.updateTable('ota_rollout_devices').set(patch).where('rollout_id', '=', rolloutId).where('device_id', '=', deviceId).execute();
  }

  /** Many device updates of one rollout in one transaction (a wave's jobs). */
  async updateDevices(rolloutId: string, updates: readonly { deviceId: string; patch: DevicePatch }[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      for (const { deviceId, patch } of updates) await trx.updateTable('ota_rollout_devices').set(patch).where('rollout_id', '=', rolloutId).where('device_id', '=', deviceId).execute();
    });
  }

  async addDevice(row: RolloutDeviceRow, waveSizes: string, now: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('ota_rollout_devices').values(row).execute();
      await trx.updateTable('ota_rollouts').set({ wave_sizes: waveSizes, updated_at: now }).where('id', '=', row.rollout_id).execute();
    });
  }

  /** Of these devices, those already in a rollout that is not finished (one unfinished rollout per device). */
  async busy(deviceIds: readonly string[]): Promise<{ deviceId: string; rolloutId: string }[]> {
    const found: { deviceId: string; rolloutId: string }[] = [];
    for (let i = 0; i < deviceIds.length; i += 500) {
      const rows = await this.#db
        .selectFrom('ota_rollout_devices as d')
        .innerJoin('ota_rollouts as r', 'r.id', 'd.rollout_id')
        .select(['d.device_id', 'd.rollout_id'])
        .where('d.device_id', 'in', deviceIds.slice(i, i + 500))
        .where('r.state', 'in', UNFINISHED_ROLLOUTS)
        .execute();
      found.push(...rows.map((r) => ({ deviceId: r.device_id, rolloutId: r.rollout_id })));
    }
    return found;
  }

  /** Every device with an active job (queued … health-checking). */
  async activeDeviceIds(): Promise<string[]> {
    const rows = await this.#db.selectFrom('ota_rollout_devices').select('device_id').distinct().where('state', 'in', ACTIVE).execute();
    return rows.map((r) => r.device_id);
  }

  /** The job to (re-)deliver to a device: its newest active or cancelled one. */
  async jobToDeliver(deviceId: string): Promise<RolloutDeviceRow | undefined> {
    return this.#db
      .selectFrom('ota_rollout_devices')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('job', 'is not', null)
      .where('state', 'in', [...ACTIVE, 'cancelled'])
      // NULLS LAST on both engines (SQLite sorts nulls last in desc by itself, PostgreSQL first).
      .orderBy('queued_at', (ob) => ob.desc().nullsLast())
      .limit(1)
      .executeTakeFirst();
  }

  async hasActiveJob(deviceId: string, artifactId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('ota_rollout_devices as d')
      .innerJoin('ota_rollouts as r', 'r.id', 'd.rollout_id')
      .select('d.device_id')
      .where('d.device_id', '=', deviceId)
      .where('r.artifact_id', '=', artifactId)
      .where('d.state', 'in', ACTIVE)
      .executeTakeFirst();
    return row !== undefined;
  }

  async artifactInUse(artifactId: string): Promise<boolean> {
    const row = await this.#db.selectFrom('ota_rollouts').select('id').where('artifact_id', '=', artifactId).where('state', 'in', UNFINISHED_ROLLOUTS).executeTakeFirst();
    return row !== undefined;
  }

  async rolloutsByState(): Promise<{ state: string; n: number }[]> {
    const rows = await this.#db.selectFrom('ota_rollouts').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
  }

  async jobsByState(): Promise<{ state: string; n: number }[]> {
    const rows = await this.#db.selectFrom('ota_rollout_devices').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
  }

  /** For benchmarks and tests: the number of device rows. */
  async deviceCount(): Promise<number> {
    const row = await this.#db.selectFrom('ota_rollout_devices').select(sql<number>`count(*)`.as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
