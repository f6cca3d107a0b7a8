import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

import type { StateDatabase } from '@outpost/kernel';

export type { StateDatabase };

export interface OpenedDatabase {
  readonly db: StateDatabase;
  readonly path: string;
  close(): Promise<void>;
}

/** Opens (creating if needed) `state.db` in the data dir, in WAL mode with foreign keys on. */
export function openStateDatabase(dataDir: string, fileName = 'state.db'): OpenedDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, fileName);
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db: StateDatabase = new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    path,
    async close() {
      await db.destroy();
    },
  };
}
