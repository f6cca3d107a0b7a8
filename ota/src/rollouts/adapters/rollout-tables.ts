/** The rollouts' tables in the state database (migrations table `ota_rollouts_migrations`). */
import type { Migrations } from '@outpost/kernel';
import type { Kysely } from 'kysely';

export type RolloutTables = {
  ota_rollouts: {
    id: string;
    name: string;
    artifact_id: string;
    /** The RolloutSpec as JSON (target, waves, gate, job options). */
    spec: string;
    state: string;
    /** Devices per wave as JSON (`[2, 5, 13]`); late enrollees grow the last. */
    wave_sizes: string;
    /** The wave running or last run; -1 before the first. */
    current_wave: number;
    wave_started_at: number | null;
    /** When the current wave's counts were first met: its soak started. */
    soak_since: number | null;
    /** The wave whose count gate an operator skipped on resume (-1: none). */
    override_wave: number;
    start_at: number | null;
    reason_code: string | null;
    reason_message: string | null;
    reason_at: number | null;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
  ota_rollout_devices: {
    rollout_id: string;
    device_id: string;
    wave: number;
    /** Shuffles devices into waves (a hash of rollout and device id). */
    position: string;
    state: string;
    job_id: string | null;
    /** The OtaJob last published to the device, as JSON (the truth the broker's retained store is rebuilt from). */
    job: string | null;
    percent: number | null;
    bytes: number | null;
    error_code: string | null;
    error_message: string | null;
    attempts: number;
    queued_at: number | null;
    /** `at` of the last progress report applied (reports older than it are ignored). */
    progress_at: number | null;
    finished_at: number | null;
    updated_at: number;
  };
};

export type RolloutDb = Kysely<RolloutTables>;

export const ROLLOUTS_MIGRATION_PART = 'ota_rollouts';

export const rolloutMigrations: Migrations = {
  '0001-rollouts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ota_rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('artifact_id', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('wave_sizes', 'text', (c) => c.notNull())
        .addColumn('current_wave', 'integer', (c) => c.notNull())
        .addColumn('wave_started_at', 'integer')
        .addColumn('soak_since', 'integer')
        .addColumn('override_wave', 'integer', (c) => c.notNull())
        .addColumn('start_at', 'integer')
        .addColumn('reason_code', 'text')
        .addColumn('reason_message', 'text')
        .addColumn('reason_at', 'integer')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ota_rollouts_state').on('ota_rollouts').columns(['state']).execute();
      await db.schema.createIndex('ota_rollouts_created').on('ota_rollouts').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('ota_rollout_devices')
        .addColumn('rollout_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('position', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('job', 'text')
        .addColumn('percent', 'real')
        .addColumn('bytes', 'integer')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('queued_at', 'integer')
        .addColumn('progress_at', 'integer')
        .addColumn('finished_at', 'integer')
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('ota_rollout_devices_pk', ['rollout_id', 'device_id'])
        .execute();
      await db.schema.createIndex('ota_rollout_devices_device').on('ota_rollout_devices').columns(['device_id', 'state']).execute();
      await db.schema.createIndex('ota_rollout_devices_job').on('ota_rollout_devices').columns(['job_id']).unique().execute();
      await db.schema.createIndex('ota_rollout_devices_wave').on('ota_rollout_devices').columns(['rollout_id', 'wave', 'state']).execute();
    },
  },
};
