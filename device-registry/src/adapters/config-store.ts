import type { DesiredConfig } from '@outpost/protocol';
import type { DesiredConfigRecord, ReportedConfigRecord } from '../domain/records.js';
import { readJson, type RegistryDb } from './json-columns.js';

/** Desired configs, versioned per device (every version kept), and the last reported one. */
export class ConfigStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  async latest(deviceId: string): Promise<DesiredConfigRecord | undefined> {
    const row = await this.#db
      .selectFrom('registry_desired_configs')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { deviceId: row.device_id, version: row.version, config: readJson<DesiredConfig>(row.config, {} as DesiredConfig), createdBy: row.created_by, createdAt: row.created_at };
  }

  async insert(record: DesiredConfigRecord): Promise<void> {
    await this.#db
      .insertInto('registry_desired_configs')
      .values({ device_id: record.deviceId, version: record.version, config: JSON.stringify(record.config), created_by: record.createdBy, created_at: record.createdAt })
      .execute();
  }

  async reported(deviceId: string): Promise<ReportedConfigRecord | undefined> {
    const row = await this.#db.selectFrom('registry_reported_configs').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
    if (row === undefined) return undefined;
    return { version: row.version, applied: row.applied === 1, error: readJson<ReportedConfigRecord['error']>(row.error, null), at: row.at };
  }

  async saveReported(deviceId: string, reported: ReportedConfigRecord): Promise<void> {
    const values = { version: reported.version, applied: reported.applied ? 1 : 0, error: reported.error === null ? null : JSON.stringify(reported.error), at: reported.at };
    await this.#db
      .insertInto('registry_reported_configs')
      .values({ device_id: deviceId, ...values })
      .onConflict((oc) => oc.column('device_id').doUpdateSet(values))
      .execute();
  }

  /** Forgets a device's desired and reported configs (it was deleted; a re-enrolment starts afresh). */
  async deleteOfDevice(deviceId: string): Promise<void> {
    await this.#db.deleteFrom('registry_desired_configs').where('device_id', '=', deviceId).execute();
    await this.#db.deleteFrom('registry_reported_configs').where('device_id', '=', deviceId).execute();
  }
}
