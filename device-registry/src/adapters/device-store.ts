import type { FirmwareInfo } from '@outpost/protocol';
import { sql, type SqlBool } from 'kysely';
import { likeContains, type DeviceQuery } from '../domain/device-query.js';
import type { Device, DeviceOutbox, Group } from '../domain/records.js';
import { stateDialectOf, type DeviceLifecycle } from '@outpost/kernel';
import { stringMap, type RegistryDb } from './json-columns.js';
import type { DeviceTable } from './tables.js';

function outboxOf(text: string | null): DeviceOutbox | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as DeviceOutbox;
  } catch {
    return null;
  }
}

function toDevice(row: DeviceTable): Device {
  const firmware: FirmwareInfo | null =
    row.firmware_name !== null && row.firmware_version !== null
      ? { name: row.firmware_name, version: row.firmware_version, slot: row.firmware_slot === 'b' ? 'b' : 'a' }
      : null;
  return {
    id: row.id,
    status: row.status,
    group: row.group_name,
    tags: stringMap(row.tags),
    metadata: stringMap(row.metadata),
    hardware: row.hardware,
    agentVersion: row.agent_version,
    firmware,
    online: row.online === 1,
    lastSeen: row.last_seen,
    outbox: outboxOf(row.outbox_status),
    enrolledWith: row.enrolled_with,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface DevicePatch {
  readonly group?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly status?: DeviceLifecycle;
}

/** Devices and groups. */
export class DeviceStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  async get(id: string): Promise<Device | undefined> {
    const row = await this.#db.selectFrom('registry_devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toDevice(row);
  }

  /** Inserts a device, or replaces a decommissioned one that had the same id. */
  async put(device: Device): Promise<void> {
    const values = {
      status: device.status,
      group_name: device.group,
      tags: JSON.stringify(device.tags),
      metadata: JSON.stringify(device.metadata),
      hardware: device.hardware,
      agent_version: device.agentVersion,
      firmware_name: device.firmware?.name ?? null,
      firmware_version: device.firmware?.version ?? null,
      firmware_slot: device.firmware?.slot ?? null,
      online: device.online ? 1 : 0,
      last_seen: device.lastSeen,
      outbox_status: device.outbox === undefined || device.outbox === null ? null : JSON.stringify(device.outbox),
      enrolled_with: device.enrolledWith,
      created_at: device.createdAt,
      updated_at: device.updatedAt,
    };
    await this.#db
      .insertInto('registry_devices')
      .values({ id: device.id, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values).where('registry_devices.status', '=', 'decommissioned'))
      .execute();
  }

  async update(id: string, patch: DevicePatch, at: number): Promise<void> {
    await this.#db
      .updateTable('registry_devices')
      .set({
        updated_at: at,
        ...(patch.group === undefined ? {} : { group_name: patch.group }),
        ...(patch.tags === undefined ? {} : { tags: JSON.stringify(patch.tags) }),
        ...(patch.metadata === undefined ? {} : { metadata: JSON.stringify(patch.metadata) }),
        ...(patch.status === undefined ? {} : { status: patch.status }),
      })
      .where('id', '=', id)
      .execute();
  }

  async recordStatus(id: string, status: { online?: boolean; at: number; agentVersion?: string; firmware?: FirmwareInfo; outbox?: Omit<DeviceOutbox, 'at'> }): Promise<void> {
    await this.#db
      .updateTable('registry_devices')
      .set({
        last_seen: status.at,
        ...(status.online === undefined ? {} : { online: status.online ? 1 : 0 }),
        ...(status.agentVersion === undefined ? {} : { agent_version: status.agentVersion }),
        ...(status.firmware === undefined
          ? {}
          : { firmware_name: status.firmware.name, firmware_version: status.firmware.version, firmware_slot: status.firmware.slot }),
        ...(status.outbox === undefined ? {} : { outbox_status: JSON.stringify({ ...status.outbox, at: status.at }) }),
      })
      .where('id', '=', id)
      .execute();
  }

  async list(query: DeviceQuery): Promise<Device[]> {
    let q = this.#db.selectFrom('registry_devices').selectAll().orderBy('id').limit(query.limit);
    if (query.after !== undefined) q = q.where('id', '>', query.after);
    q = query.status === undefined ? q.where('status', '!=', 'decommissioned') : q.where('status', '=', query.status);
    if (query.group !== undefined) q = q.where('group_name', '=', query.group);
    if (query.online !== undefined) q = q.where('online', '=', query.online ? 1 : 0);
    // The tags and metadata columns are JSON text on both engines; SQLite reads them with json_*,
    // PostgreSQL with jsonb operators. LIKE ignores ASCII case on SQLite, ILIKE does on PostgreSQL.
    const postgres = stateDialectOf(this.#db) === 'postgres';
    for (const tag of query.tags) {
      const path = `$."${tag.key}"`;
      if (postgres) {
        q = tag.value === undefined
          ? q.where(sql<SqlBool>`(tags::jsonb) ? ${tag.key}`)
          : q.where(sql<string>`(tags::jsonb) ->> ${tag.key}`, '=', tag.value);
        continue;
      }
      q = tag.value === undefined
        ? q.where(sql<SqlBool>`json_type(tags, ${path}) is not null`)
        : q.where(sql<string>`json_extract(tags, ${path})`, '=', tag.value);
    }
    const fw = query.firmware;
    if (fw?.name !== undefined) q = q.where('firmware_name', '=', fw.name);
    if (fw?.version !== undefined) q = q.where('firmware_version', '=', fw.version);
    if (fw?.either !== undefined) {
      const either = fw.either;
      q = q.where((eb) => eb.or([eb('firmware_name', '=', either), eb('firmware_version', '=', either)]));
    }
    if (query.q !== undefined && query.q !== '') {
      const pattern = likeContains(query.q);
      const columns = ['id', 'group_name', 'hardware', 'tags', 'metadata'] as const;
      const like = postgres ? sql`ilike` : sql`like`;
      q = q.where((eb) => eb.or(columns.map((column) => sql<SqlBool>`${sql.ref(column)} ${like} ${pattern} escape '\\'`)));
    }
    return (await q.execute()).map(toDevice);
  }

  async groupExists(name: string): Promise<boolean> {
    return (await this.#db.selectFrom('registry_groups').select('name').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  /** Creates the group unless it exists (SPEC: groups are created on first use). */
  async ensureGroup(name: string, at: number): Promise<void> {
    await this.#db.insertInto('registry_groups').values({ name, description: null, created_at: at }).onConflict((oc) => oc.column('name').doNothing()).execute();
  }

  async putGroup(name: string, description: string | null, at: number): Promise<Group> {
    await this.#db
      .insertInto('registry_groups')
      .values({ name, description, created_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ description }))
      .execute();
    const row = await this.#db.selectFrom('registry_groups').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    return { name: row.name, description: row.description, createdAt: row.created_at };
  }

  /**
   * Counts of every live (not deleted) device, one row per (group, firmware, online, status)
   * combination: the fleet summary is made from these few rows instead of the device list.
   */
  async countByKind(): Promise<{ group: string; firmwareName: string | null; firmwareVersion: string | null; online: boolean; status: DeviceLifecycle; devices: number }[]> {
    const rows = await this.#db
      .selectFrom('registry_devices')
      .select(['group_name', 'firmware_name', 'firmware_version', 'online', 'status'])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '!=', 'decommissioned')
      .groupBy(['group_name', 'firmware_name', 'firmware_version', 'online', 'status'])
      .execute();
    return rows.map((r) => ({
      group: r.group_name,
      firmwareName: r.firmware_name,
      firmwareVersion: r.firmware_version,
      online: r.online === 1,
      status: r.status,
      devices: Number(r.n),
    }));
  }

  /** Groups in name order, with how many live (not deleted) devices each holds. */
  async listGroups(options: { limit: number; after?: string }): Promise<(Group & { devices: number })[]> {
    let q = this.#db
      .selectFrom('registry_groups as g')
      .select(['g.name', 'g.description', 'g.created_at'])
      .select((eb) =>
        eb
          .selectFrom('registry_devices as d')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('d.group_name', '=', 'g.name')
          .where('d.status', '!=', 'decommissioned')
          .as('devices'),
      )
      .orderBy('g.name')
      .limit(options.limit);
    if (options.after !== undefined) q = q.where('g.name', '>', options.after);
    const rows = await q.execute();
    return rows.map((r) => ({ name: r.name, description: r.description, createdAt: r.created_at, devices: Number(r.devices ?? 0) }));
  }
}
