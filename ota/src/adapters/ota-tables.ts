/**
 * The OTA part's own tables (migrations table `ota_migrations`): every TrustSet version ever
 * accepted (the newest is the current set) and the stored firmware artifacts. The rollouts
 * module (ota/src/rollouts) keeps its tables under its own migrations name.
 */
import type { Migrations } from '@outpost/kernel';
import type { Kysely } from 'kysely';

export type OtaTables = {
  ota_trust_sets: { version: number; body: string; actor: string; created_at: number };
  ota_artifacts: {
    id: string;
    name: string;
    version: string;
    type: string;
    size: number;
    sha256: string;
    manifest: string;
    signature: string;
    uploaded_by: string;
    uploaded_at: number;
  };
};

export type OtaDb = Kysely<OtaTables>;

export const OTA_MIGRATIONS_NAME = 'ota';

export const otaMigrations: Migrations = {
  '0001-ota-keys-artifacts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ota_trust_sets')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ota_artifacts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('manifest', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('uploaded_by', 'text', (c) => c.notNull())
        .addColumn('uploaded_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ota_artifacts_sha256').on('ota_artifacts').column('sha256').execute();
    },
  },
};
