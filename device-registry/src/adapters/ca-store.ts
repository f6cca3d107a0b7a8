import type { CaRecord, CaStatus, ServerCertRecord } from '../domain/records.js';
import { readJson, type RegistryDb } from './json-columns.js';
import type { CaTable } from './tables.js';

function toCa(row: CaTable): CaRecord {
  return {
    id: row.id,
    generation: row.generation,
    commonName: row.common_name,
    certPem: row.cert_pem,
    sealedKey: row.sealed_key,
    fingerprint: row.fingerprint,
    serial: row.serial,
    status: row.status,
    notBefore: row.not_before,
    notAfter: row.not_after,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
    crlNumber: row.crl_number,
  };
}

/** Platform CAs (keys sealed) and the one server certificate. */
export class CaStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  /** Every CA, newest generation first. */
  async list(): Promise<CaRecord[]> {
    const rows = await this.#db.selectFrom('registry_cas').selectAll().orderBy('generation', 'desc').execute();
    return rows.map(toCa);
  }

  /** Adds a CA; when `demote` is given, that CA becomes `previous` in the same transaction. */
  async insert(ca: CaRecord, demote?: string): Promise<void> {
    if (demote !== undefined) {
      await this.#db.transaction().execute(async (trx) => {
        const store = new CaStore(trx);
        await store.setStatus(demote, 'previous', ca.createdAt);
        await store.insert(ca);
      });
      return;
    }
    await this.#db
      .insertInto('registry_cas')
      .values({
        id: ca.id,
        generation: ca.generation,
        common_name: ca.commonName,
        cert_pem: ca.certPem,
        sealed_key: ca.sealedKey,
        fingerprint: ca.fingerprint,
        serial: ca.serial,
        status: ca.status,
        not_before: ca.notBefore,
        not_after: ca.notAfter,
        created_at: ca.createdAt,
        retired_at: ca.retiredAt,
        crl_number: ca.crlNumber,
      })
      .execute();
  }

  async setStatus(id: string, status: CaStatus, at: number): Promise<void> {
    await this.#db
      .updateTable('registry_cas')
      .set({ status, ...(status === 'retired' ? { retired_at: at } : {}) })
      .where('id', '=', id)
      .execute();
  }

  /** Takes the next CRL number of a CA. */
  async nextCrlNumber(id: string): Promise<number> {
    const row = await this.#db
      .updateTable('registry_cas')
      .set((eb) => ({ crl_number: eb('crl_number', '+', 1) }))
      .where('id', '=', id)
      .returning('crl_number')
      .executeTakeFirst();
    return row?.crl_number ?? 1;
  }

  async serverCert(): Promise<ServerCertRecord | undefined> {
    const row = await this.#db.selectFrom('registry_server_cert').selectAll().where('id', '=', 1).executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      caId: row.ca_id,
      certPem: row.cert_pem,
      sealedKey: row.sealed_key,
      names: readJson<string[]>(row.names, []),
      serial: row.serial,
      notAfter: row.not_after,
      issuedAt: row.issued_at,
    };
  }

  async saveServerCert(cert: ServerCertRecord): Promise<void> {
    const values = {
      ca_id: cert.caId,
      cert_pem: cert.certPem,
      sealed_key: cert.sealedKey,
      names: JSON.stringify(cert.names),
      serial: cert.serial,
      not_after: cert.notAfter,
      issued_at: cert.issuedAt,
    };
    await this.#db
      .insertInto('registry_server_cert')
      .values({ id: 1, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }
}
