/**
 * Devices the engine has heard from (`alerts_known_devices`): after a restart, absence rules
 * watch them from the start, so a device that never speaks again still fires.
 */
import type { AlertsDb } from './alerts-tables.js';

export class KnownDeviceStore {
  readonly #db: AlertsDb;

  constructor(db: AlertsDb) {
    this.#db = db;
  }

  async all(): Promise<string[]> {
    return (await this.#db.selectFrom('alerts_known_devices').select('device_id').orderBy('device_id').execute()).map((r) => r.device_id);
  }

  async seen(entries: readonly (readonly [deviceId: string, at: number])[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#db
      .insertInto('alerts_known_devices')
      .values(entries.map(([device_id, at]) => ({ device_id, first_seen: at, last_seen: at })))
      .onConflict((c) => c.column('device_id').doUpdateSet((eb) => ({ last_seen: eb.ref('excluded.last_seen') })))
      .execute();
  }

  async forget(deviceId: string): Promise<void> {
    await this.#db.deleteFrom('alerts_known_devices').where('device_id', '=', deviceId).execute();
  }
}
