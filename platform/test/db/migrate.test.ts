import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateDatabase, type OpenedDatabase } from '../../src/db/database.js';
import { runMigrations } from '../../src/db/migrate.js';

describe('state database and per-part migrations', () => {
  let dir: string;
  let opened: OpenedDatabase;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-db-'));
    opened = openStateDatabase(dir);
  });
  afterEach(async () => {
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens state.db in WAL mode with foreign keys on', async () => {
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(opened.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(opened.db);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
    expect(opened.path).toBe(join(dir, 'state.db'));
  });

  it('tracks each part in its own migration table, applies each migration once, and in order', async () => {
    const order: string[] = [];
    const make = (part: string, table: string) => ({
      [`0001-${table}`]: {
        async up(db: Kysely<unknown>) {
          order.push(`${part}:0001`);
          await db.schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey()).execute();
        },
      },
      [`0002-${table}-name`]: {
        async up(db: Kysely<unknown>) {
          order.push(`${part}:0002`);
          await db.schema.alterTable(table).addColumn('name', 'text').execute();
        },
      },
    });
    expect(await runMigrations(opened.db, 'registry', make('registry', 'devices'))).toEqual(['0001-devices', '0002-devices-name']);
    expect(await runMigrations(opened.db, 'ota', make('ota', 'rollouts'))).toEqual(['0001-rollouts', '0002-rollouts-name']);
    expect(await runMigrations(opened.db, 'registry', make('registry', 'devices'))).toEqual([]);
    expect(order).toEqual(['registry:0001', 'registry:0002', 'ota:0001', 'ota:0002']);
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name like '%migrations' order by name`.execute(opened.db);
    expect(tables.rows.map((r) => r.name)).toEqual(['ota_migrations', 'registry_migrations']);
  });

  it('reports which migration of which part failed', async () => {
    const broken = {
      '0001-bad': {
        async up(db: Kysely<unknown>) {
          await sql`create tabel nope (id integer)`.execute(db);
        },
      },
    };
    await expect(runMigrations(opened.db, 'broken', broken)).rejects.toThrow('migration 0001-bad of part broken failed');
  });
});
