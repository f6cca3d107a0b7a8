/** Every accepted TrustSet version; the newest is the current set (the database is the truth, not the broker's retained store). */
import type { TrustSet } from '@outpost/protocol';
import { EMPTY_TRUST_SET } from '../signing/trust-sets.js';
import type { OtaDb } from './ota-tables.js';

export interface StoredTrustSet {
  readonly set: TrustSet;
  readonly actor: string;
  readonly createdAt: number;
}

export class TrustSetStore {
  readonly #db: OtaDb;

  constructor(db: OtaDb) {
    this.#db = db;
  }

  /** The current set; EMPTY_TRUST_SET (version 0) before the first one is registered. */
  async current(): Promise<TrustSet> {
    const row = await this.#db.selectFrom('ota_trust_sets').select('body').orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row === undefined ? EMPTY_TRUST_SET : (JSON.parse(row.body) as TrustSet);
  }

  /** Stores `set` as the next version; false when that version exists (a concurrent change won). */
  async append(set: TrustSet, actor: string, at: number): Promise<boolean> {
    const result = await this.#db
      .insertInto('ota_trust_sets')
      .values({ version: set.version, body: JSON.stringify(set), actor, created_at: at })
      .onConflict((oc) => oc.column('version').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Versions newest first, before `beforeVersion`. */
  async history(limit: number, beforeVersion?: number): Promise<StoredTrustSet[]> {
    let query = this.#db.selectFrom('ota_trust_sets').selectAll().orderBy('version', 'desc').limit(limit);
    if (beforeVersion !== undefined) query = query.where('version', '<', beforeVersion);
    const rows = await query.execute();
    return rows.map((row) => ({ set: JSON.parse(row.body) as TrustSet, actor: row.actor, createdAt: row.created_at }));
  }

  /** The version in which each key of the current set first appeared (for the key list). */
  async firstVersions(): Promise<Map<string, { version: number; at: number }>> {
    const rows = await this.#db.selectFrom('ota_trust_sets').select(['version', 'body', 'created_at']).orderBy('version', 'asc').execute();
    const first = new Map<string, { version: number; at: number }>();
    for (const row of rows) {
      const set = JSON.parse(row.body) as TrustSet;
      for (const key of set.keys) if (!first.has(key.keyId)) first.set(key.keyId, { version: row.version, at: row.created_at });
    }
    return first;
  }
}
