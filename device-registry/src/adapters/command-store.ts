import type { CommandArgs } from '@outpost/protocol';
import type { CommandRecord } from '../domain/records.js';
import type { CommandOutcome, CommandState } from '@outpost/kernel';
import { readJson, type RegistryDb } from './json-columns.js';
import type { CommandTable } from './tables.js';

function toCommand(row: CommandTable): CommandRecord {
  return {
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    args: readJson<CommandArgs>(row.args, {}),
    state: row.state,
    result: readJson<CommandOutcome | null>(row.result, null),
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
  };
}

/** Commands for devices and the state of their delivery. */
export class CommandStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  async insert(command: CommandRecord): Promise<void> {
    await this.#db
      .insertInto('registry_commands')
      .values({
        id: command.id,
        device_id: command.deviceId,
        name: command.name,
        args: JSON.stringify(command.args),
        state: command.state,
        result: command.result === null ? null : JSON.stringify(command.result),
        created_by: command.createdBy,
        created_at: command.createdAt,
        expires_at: command.expiresAt,
        updated_at: command.updatedAt,
      })
      .execute();
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const row = await this.#db.selectFrom('registry_commands').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toCommand(row);
  }

  /** A device's commands, newest first; `before` is the last id of the previous page. */
  async ofDevice(deviceId: string, options: { limit: number; before?: string }): Promise<CommandRecord[]> {
    let q = this.#db.selectFrom('registry_commands').selectAll().where('device_id', '=', deviceId).orderBy('id', 'desc').limit(options.limit);
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    return (await q.execute()).map(toCommand);
  }

  /** Queued commands not yet expired at `now`, oldest first. */
  async pending(deviceId: string, now: number): Promise<CommandRecord[]> {
    const rows = await this.#db
      .selectFrom('registry_commands')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('state', '=', 'queued')
      .where('expires_at', '>', now)
      .orderBy('id')
      .execute();
    return rows.map(toCommand);
  }

  /** Moves a command from one of `from` to `to`; false when it was in none of them. */
  async setState(deviceId: string, id: string, from: readonly CommandState[], to: CommandState, result: CommandOutcome | null, at: number): Promise<boolean> {
    const outcome = await this.#db
      .updateTable('registry_commands')
      .set({ state: to, updated_at: at, ...(result === null ? {} : { result: JSON.stringify(result) }) })
      .where('id', '=', id)
      .where('device_id', '=', deviceId)
      .where('state', 'in', [...from])
      .executeTakeFirst();
    return outcome.numUpdatedRows > 0n;
  }

  /** Marks a device's queued and delivered commands expired (the device is gone). */
  async expireOpen(deviceId: string, at: number): Promise<void> {
    await this.#db
      .updateTable('registry_commands')
      .set({ state: 'expired', updated_at: at })
      .where('device_id', '=', deviceId)
      .where('state', 'in', ['queued', 'delivered'])
      .execute();
  }
}
