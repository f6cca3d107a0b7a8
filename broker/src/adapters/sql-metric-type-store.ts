/** Fleet-wide metric types in the state database (`broker_metric_types`), via Kysely. */
import type { Migrations, StateDatabase } from '@outpost/kernel';
import type { MetricType } from '@outpost/protocol';
import type { Kysely } from 'kysely';
import type { MetricTypeStore } from '../ports/metric-type-store.js';

type BrokerTables = {
  broker_metric_types: { name: string; type: string; first_seen: number };
};

export const brokerMigrations: Migrations = {
  '0001-metric-types': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('broker_metric_types')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

const TYPES: ReadonlySet<string> = new Set<MetricType>(['float', 'boolean', 'string']);

export function sqlMetricTypeStore(state: StateDatabase): MetricTypeStore {
  const db = state.withTables<BrokerTables>();
  return {
    async load() {
      const rows = await db.selectFrom('broker_metric_types').select(['name', 'type']).execute();
      return rows.filter((r) => TYPES.has(r.type)).map((r) => [r.name, r.type as MetricType] as const);
    },
    async add(entries, at) {
      if (entries.length === 0) return;
      await db
        .insertInto('broker_metric_types')
        .values(entries.map(([name, type]) => ({ name, type, first_seen: at })))
        .onConflict((c) => c.column('name').doNothing())
        .execute();
    },
  };
}
