import type { Kysely } from 'kysely';
import type { Migrations } from '@outpost/kernel';

/** The registry's schema, run by the platform as part `registry` (`registry_migrations`). */
export const registryMigrations: Migrations = {
  '0001-registry': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('registry_cas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('generation', 'integer', (c) => c.notNull().unique())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('sealed_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('not_before', 'integer', (c) => c.notNull())
        .addColumn('not_after', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('retired_at', 'integer')
        .addColumn('crl_number', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('registry_server_cert')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('ca_id', 'text', (c) => c.notNull())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('sealed_key', 'text', (c) => c.notNull())
        .addColumn('names', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('not_after', 'integer', (c) => c.notNull())
        .addColumn('issued_at', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('registry_enrollment_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('device_id_prefix', 'text')
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'integer', (c) => c.notNull())
        .addColumn('revoked_at', 'integer')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('registry_enrollment_attempts')
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('key_fingerprint', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_enrollment_attempts_pk', ['token_id', 'key_fingerprint'])
        .execute();

      await db.schema
        .createTable('registry_devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('hardware', 'text')
        .addColumn('agent_version', 'text')
        .addColumn('firmware_name', 'text')
        .addColumn('firmware_version', 'text')
        .addColumn('firmware_slot', 'text')
        .addColumn('online', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_seen', 'integer')
        .addColumn('enrolled_with', 'text')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_devices_group').on('registry_devices').columns(['group_name', 'id']).execute();
      await db.schema.createIndex('registry_devices_status').on('registry_devices').columns(['status', 'id']).execute();

      await db.schema
        .createTable('registry_certificates')
        .addColumn('serial', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('role', 'text')
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('not_before', 'integer', (c) => c.notNull())
        .addColumn('not_after', 'integer', (c) => c.notNull())
        .addColumn('revoked_at', 'integer')
        .addColumn('ca_id', 'text', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_certificates_device').on('registry_certificates').columns(['device_id', 'not_before']).execute();
      await db.schema.createIndex('registry_certificates_ca').on('registry_certificates').columns(['ca_id', 'revoked_at']).execute();

      await db.schema
        .createTable('registry_groups')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('registry_desired_configs')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('registry_desired_configs_pk', ['device_id', 'version'])
        .execute();

      await db.schema
        .createTable('registry_reported_configs')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('applied', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('at', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('registry_commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('args', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('registry_commands_device').on('registry_commands').columns(['device_id', 'created_at']).execute();
    },
  },
  '0002-certificate-lineage': {
    async up(db: Kysely<unknown>) {
      // Which certificate a renewal was authenticated by: revoking a serial revokes its renewals.
      await db.schema.alterTable('registry_certificates').addColumn('renewed_from', 'text').execute();
      await db.schema.createIndex('registry_certificates_renewed_from').on('registry_certificates').column('renewed_from').execute();
    },
  },
  '0003-device-outbox-status': {
    async up(db: Kysely<unknown>) {
      // The outbox figures of each device's latest DeviceStatus (issue 11): depth, bytes, drops, bound.
      await db.schema.alterTable('registry_devices').addColumn('outbox_status', 'text').execute();
    },
  },
};
