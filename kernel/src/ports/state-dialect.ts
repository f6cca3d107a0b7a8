import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Which engine holds the state database: embedded SQLite (the default) or PostgreSQL
 * (`OUTPOST_DATABASE_URL`, issue 15). Repositories ask only where SQL differs between the two
 * (JSON functions, LIKE's case rules, SQLite pragmas); everything else is written once.
 */
export type StateDialect = 'sqlite' | 'postgres';

/** The dialect of a state database or of a transaction on it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function stateDialectOf(db: Kysely<any>): StateDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
