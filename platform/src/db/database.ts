import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

import type { Log, OutpostConfig, StateDatabase } from '@outpost/kernel';
import { openPostgresStateDatabase, type StateDbHealth } from './postgres.js';
import { withStatementCache } from './statement-cache.js';

export type { StateDatabase };

export interface OpenedDatabase {
  readonly db: StateDatabase;
  /** The SQLite file, or the PostgreSQL URL with its password masked. */
  readonly path: string;
  /** PostgreSQL only: whether the server is reachable (SQLite is a file: always there). */
  readonly health?: StateDbHealth;
  close(): Promise<void>;
}

/**
 * The state database the configuration asks for: PostgreSQL when `OUTPOST_DATABASE_URL` is
 * set (issue 15), else the embedded SQLite file in the data dir, as before.
 */
export function openConfiguredStateDatabase(config: OutpostConfig, log: Log): OpenedDatabase {
  const external = config.database;
  if (external === undefined) return openStateDatabase(config.dataDir);
  const opened = openPostgresStateDatabase({ ...external, log });
  log.info({ database: opened.where }, `state database: PostgreSQL at ${opened.where}`);
  return { db: opened.db, path: opened.where, health: opened.health, close: () => opened.close() };
}

/** Opens (creating if needed) `state.db` in the data dir, in WAL mode with foreign keys on, its prepared statements kept. */
export function openStateDatabase(dataDir: string, fileName = 'state.db'): OpenedDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, fileName);
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db: StateDatabase = new Kysely({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    path,
    async close() {
      await db.destroy();
    },
  };
}
