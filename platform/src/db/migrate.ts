import { Migrator, type MigrationProvider } from 'kysely';
import type { Migrations, StateDatabase } from '@outpost/kernel';
import { isOutpostError } from '@outpost/protocol';

export type { Migrations };

/**
 * Runs one part's migrations, tracked in that part's own table
 * (`<part>_migrations`), so parts evolve their schemas independently.
 * Migration names sort in order of application (`0001-users`, `0002-…`).
 */
export async function runMigrations(db: StateDatabase, part: string, migrations: Migrations): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) };
  const table = `${part.replace(/[^a-z0-9]+/gi, '_')}_migrations`;
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: table,
    migrationLockTableName: `${table}_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    // A coded refusal (PostgreSQL unreachable: STATE_DB_UNAVAILABLE) says more than "migration failed".
    if (isOutpostError(error)) throw error;
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} of part ${part} failed`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
