/** Rules in `alerts_rules`: the protocol Rule as canonical JSON plus its version and times. */
import type { Rule } from '@outpost/protocol';
import type { AlertsDb } from './alerts-tables.js';

export interface StoredRule {
  readonly rule: Rule;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

type Row = { id: string; body: string; version: number; created_at: number; updated_at: number };

function fromRow(row: Row): StoredRule {
  return { rule: JSON.parse(row.body) as Rule, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
}

export class RuleStore {
  readonly #db: AlertsDb;

  constructor(db: AlertsDb) {
    this.#db = db;
  }

  async all(): Promise<StoredRule[]> {
    const rows = await this.#db.selectFrom('alerts_rules').selectAll().orderBy('id').execute();
    return rows.map(fromRow);
  }

  async list(options: { limit: number; after?: string }): Promise<StoredRule[]> {
    let q = this.#db.selectFrom('alerts_rules').selectAll().orderBy('id').limit(options.limit);
    if (options.after !== undefined) q = q.where('id', '>', options.after);
    return (await q.execute()).map(fromRow);
  }

  async get(id: string): Promise<StoredRule | undefined> {
    const row = await this.#db.selectFrom('alerts_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  /** Inserts a new rule at version 1; false when the id is taken. */
  async insert(rule: Rule, at: number): Promise<StoredRule | undefined> {
    const result = await this.#db
      .insertInto('alerts_rules')
      .values({ id: rule.id, body: JSON.stringify(rule), version: 1, created_at: at, updated_at: at })
      .onConflict((c) => c.column('id').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return { rule, version: 1, createdAt: at, updatedAt: at };
  }

  /** Replaces a rule if it is still at `expectedVersion`; bumps its version. */
  async replace(rule: Rule, expectedVersion: number, at: number): Promise<StoredRule | undefined> {
    const result = await this.#db
      .updateTable('alerts_rules')
      .set({ body: JSON.stringify(rule), version: expectedVersion + 1, updated_at: at })
      .where('id', '=', rule.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    const stored = await this.get(rule.id);
    return stored;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('alerts_rules').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
