import type { Kysely } from 'kysely';
import type { Migrations } from '../db/migrate.js';

/**
 * The `leases` table (ADR 0011): one row per kind of singleton work. `expires_at` is epoch ms by
 * the holder's clock; `token` grows each time the holder changes (the fencing token). bigint,
 * not integer: PostgreSQL's integer is 32 bits.
 */
export const leaseMigrations: Migrations = {
  '0001-leases': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('token', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

export type LeaseTables = {
  leases: {
    name: string;
    holder: string;
    /** number on SQLite; pg answers bigint columns as strings. */
    expires_at: number | string;
    token: number | string;
  };
};
