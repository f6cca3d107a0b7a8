import type { EnrollmentToken } from '../domain/enrollment-token.js';
import { stringMap, type RegistryDb } from './json-columns.js';
import type { EnrollmentTokenTable } from './tables.js';

function toToken(row: EnrollmentTokenTable): EnrollmentToken {
  return {
    id: row.id,
    group: row.group_name,
    tags: stringMap(row.tags),
    deviceIdPrefix: row.device_id_prefix,
    maxUses: row.max_uses,
    uses: row.uses,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export interface EnrollmentAttempt {
  readonly tokenId: string;
  readonly keyFingerprint: string;
  readonly deviceId: string;
  readonly serial: string;
}

/** Enrollment tokens (by id and by the hash of their secret) and the attempts made with them. */
export class TokenStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  async insert(token: EnrollmentToken, tokenHash: string): Promise<void> {
    await this.#db
      .insertInto('registry_enrollment_tokens')
      .values({
        id: token.id,
        token_hash: tokenHash,
        group_name: token.group,
        tags: JSON.stringify(token.tags),
        device_id_prefix: token.deviceIdPrefix,
        max_uses: token.maxUses,
        uses: token.uses,
        expires_at: token.expiresAt,
        revoked_at: token.revokedAt,
        created_by: token.createdBy,
        created_at: token.createdAt,
      })
      .execute();
  }

  async byHash(tokenHash: string): Promise<EnrollmentToken | undefined> {
    const row = await this.#db.selectFrom('registry_enrollment_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  }

  async byId(id: string): Promise<EnrollmentToken | undefined> {
    const row = await this.#db.selectFrom('registry_enrollment_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  }

  /** In id order; `after` is the last id of the previous page. */
  async list(options: { limit: number; after?: string }): Promise<EnrollmentToken[]> {
    let q = this.#db.selectFrom('registry_enrollment_tokens').selectAll().orderBy('id').limit(options.limit);
    if (options.after !== undefined) q = q.where('id', '>', options.after);
    return (await q.execute()).map(toToken);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('registry_enrollment_tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Uses one use unless the token is used up, revoked or expired meanwhile; false then. */
  async consumeUse(id: string, now: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('registry_enrollment_tokens')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where((eb) => eb('uses', '<', eb.ref('max_uses')))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async attempt(tokenId: string, keyFingerprint: string): Promise<EnrollmentAttempt | undefined> {
    const row = await this.#db
      .selectFrom('registry_enrollment_attempts')
      .selectAll()
      .where('token_id', '=', tokenId)
      .where('key_fingerprint', '=', keyFingerprint)
      .executeTakeFirst();
    return row === undefined ? undefined : { tokenId: row.token_id, keyFingerprint: row.key_fingerprint, deviceId: row.device_id, serial: row.serial };
  }

  async saveAttempt(attempt: EnrollmentAttempt, at: number): Promise<void> {
    await this.#db
      .insertInto('registry_enrollment_attempts')
      .values({ token_id: attempt.tokenId, key_fingerprint: attempt.keyFingerprint, device_id: attempt.deviceId, serial: attempt.serial, created_at: at })
      .onConflict((oc) => oc.columns(['token_id', 'key_fingerprint']).doUpdateSet({ device_id: attempt.deviceId, serial: attempt.serial, created_at: at }))
      .execute();
  }
}
