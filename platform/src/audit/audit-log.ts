import type { Kysely } from 'kysely';
import type { AuditEntry, AuditOutcome, AuditRecord, Migrations, StateDatabase } from '@outpost/kernel';

export interface AuditQuery {
  actor?: string;
  action?: string;
  from?: number;
  to?: number;
  limit: number;
  before?: number;
}

type AuditTable = {
  id: number | undefined;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  status: number | null;
  error_code: string | null;
  ip: string | null;
};

export const auditMigrations: Migrations = {
  '0001-audit-log': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('at', 'integer', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('error_code', 'text')
        .addColumn('ip', 'text')
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'at']).execute();
    },
  },
};

/** Append-only record of every operator action; newest first when read. */
export class AuditLog {
  readonly #db: Kysely<{ audit_log: AuditTable }>;
  readonly #now: () => number;

  constructor(db: StateDatabase, now: () => number) {
    this.#db = db.withTables<{ audit_log: AuditTable }>();
    this.#now = now;
  }

  async record(entry: AuditRecord): Promise<void> {
    await this.#db
      .insertInto('audit_log')
      .values({
        id: undefined,
        at: entry.at ?? this.#now(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        status: entry.status ?? null,
        error_code: entry.errorCode ?? null,
        ip: entry.ip ?? null,
      })
      .execute();
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    let q = this.#db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(query.limit);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    if (query.action !== undefined) {
      // `users` matches `users.create`, `users.delete`, …; an exact action matches itself.
      // (Routes only let `[a-z0-9.-]` through, so the prefix holds no LIKE wildcard.)
      const action = query.action;
      q = q.where((eb) => eb.or([eb('action', '=', action), eb('action', 'like', `${action}.%`)]));
    }
    if (query.from !== undefined) q = q.where('at', '>=', query.from);
    if (query.to !== undefined) q = q.where('at', '<=', query.to);
    if (query.before !== undefined) q = q.where('id', '<', query.before);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      status: r.status,
      errorCode: r.error_code,
      ip: r.ip,
    }));
  }
}
