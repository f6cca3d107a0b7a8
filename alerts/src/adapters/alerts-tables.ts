/** The alerts module's tables in the state database (migrations table `alerts_migrations`). */
import type { Migrations } from '@outpost/kernel';
import type { Kysely } from 'kysely';

export type AlertsTables = {
  alerts_rules: { id: string; body: string; version: number; created_at: number; updated_at: number };
  alerts_alerts: {
    id: string;
    rule_id: string;
    device_id: string;
    source: string;
    severity: string;
    state: string;
    value: number | null;
    fired_at: number;
    resolved_at: number | null;
    ack_by: string | null;
    ack_at: number | null;
    ack_comment: string | null;
    maintenance: number;
    late: number;
    /** 1 while firing or acknowledged: at most one open alert per (rule, device, source). */
    open: number;
    created_at: number;
  };
  alerts_events: {
    n: number | undefined;
    id: string;
    alert_id: string;
    rule_id: string;
    device_id: string;
    state: string;
    severity: string;
    value: number | null;
    ts: number;
    at: number;
    maintenance: number;
    late: number;
  };
  alerts_channels: {
    id: string;
    name: string;
    type: string;
    url: string | null;
    secret: string | null;
    min_severity: string | null;
    created_at: number;
    updated_at: number;
  };
  alerts_deliveries: {
    n: number | undefined;
    channel_id: string;
    event_id: string;
    body: string;
    state: string;
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    last_latency_ms: number | null;
    next_attempt_at: number | null;
    created_at: number;
    updated_at: number;
  };
  alerts_known_devices: { device_id: string; first_seen: number; last_seen: number };
};

export type AlertsDb = Kysely<AlertsTables>;

export const alertsMigrations: Migrations = {
  '0001-alerts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alerts_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alerts_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('value', 'real')
        .addColumn('fired_at', 'integer', (c) => c.notNull())
        .addColumn('resolved_at', 'integer')
        .addColumn('ack_by', 'text')
        .addColumn('ack_at', 'integer')
        .addColumn('ack_comment', 'text')
        .addColumn('maintenance', 'integer', (c) => c.notNull())
        .addColumn('late', 'integer', (c) => c.notNull())
        .addColumn('open', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_alerts_open').on('alerts_alerts').columns(['rule_id', 'device_id', 'source', 'open']).execute();
      await db.schema.createIndex('alerts_alerts_device').on('alerts_alerts').columns(['device_id', 'created_at']).execute();
      await db.schema.createIndex('alerts_alerts_state').on('alerts_alerts').columns(['state', 'created_at']).execute();
      await db.schema
        .createTable('alerts_events')
        .addColumn('n', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('value', 'real')
        .addColumn('ts', 'integer', (c) => c.notNull())
        .addColumn('at', 'integer', (c) => c.notNull())
        .addColumn('maintenance', 'integer', (c) => c.notNull())
        .addColumn('late', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_events_alert').on('alerts_events').columns(['alert_id', 'n']).execute();
      await db.schema
        .createTable('alerts_channels')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('url', 'text')
        .addColumn('secret', 'text')
        .addColumn('min_severity', 'text')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alerts_deliveries')
        .addColumn('n', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('channel_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_latency_ms', 'real')
        .addColumn('next_attempt_at', 'integer')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_deliveries_pending').on('alerts_deliveries').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('alerts_deliveries_channel').on('alerts_deliveries').columns(['channel_id', 'n']).execute();
      await db.schema
        .createTable('alerts_known_devices')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('first_seen', 'integer', (c) => c.notNull())
        .addColumn('last_seen', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};
