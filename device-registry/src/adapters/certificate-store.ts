import type { CertificateRecord } from '../domain/records.js';
import type { RegistryDb } from './json-columns.js';
import type { CertificateTable } from './tables.js';

function toCertificate(row: CertificateTable): CertificateRecord {
  return {
    serial: row.serial,
    kind: row.kind,
    subject: row.subject,
    deviceId: row.device_id,
    role: row.role,
    fingerprint: row.fingerprint,
    notBefore: row.not_before,
    notAfter: row.not_after,
    revokedAt: row.revoked_at,
    caId: row.ca_id,
    pem: row.pem,
    createdAt: row.created_at,
    ...(row.renewed_from === null ? {} : { renewedFrom: row.renewed_from }),
  };
}

/** Every certificate the platform issued (devices and integrations); serials are normalized hex. */
export class CertificateStore {
  readonly #db: RegistryDb;

  constructor(db: RegistryDb) {
    this.#db = db;
  }

  async insert(cert: CertificateRecord): Promise<void> {
    await this.#db
      .insertInto('registry_certificates')
      .values({
        serial: cert.serial,
        kind: cert.kind,
        subject: cert.subject,
        device_id: cert.deviceId,
        role: cert.role,
        fingerprint: cert.fingerprint,
        not_before: cert.notBefore,
        not_after: cert.notAfter,
        revoked_at: cert.revokedAt,
        ca_id: cert.caId,
        pem: cert.pem,
        created_at: cert.createdAt,
        renewed_from: cert.renewedFrom ?? null,
      })
      .execute();
  }

  async get(serial: string): Promise<CertificateRecord | undefined> {
    const row = await this.#db.selectFrom('registry_certificates').selectAll().where('serial', '=', serial).executeTakeFirst();
    return row === undefined ? undefined : toCertificate(row);
  }

  /** A device's certificates, newest first. */
  async ofDevice(deviceId: string): Promise<CertificateRecord[]> {
    const rows = await this.#db
      .selectFrom('registry_certificates')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('not_before', 'desc')
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toCertificate);
  }

  /** The device's most recently issued certificate, revoked or not. */
  async latestOfDevice(deviceId: string): Promise<CertificateRecord | undefined> {
    const row = await this.#db
      .selectFrom('registry_certificates')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('created_at', 'desc')
      .orderBy('not_before', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toCertificate(row);
  }

  /**
   * Revokes a certificate and every certificate renewed from it, transitively (a renewal is
   * only as trustworthy as the certificate that authenticated it). Answers the serials this
   * call revoked — empty when all were revoked already or the serial is unknown.
   */
  async revokeWithRenewals(serial: string, at: number): Promise<string[]> {
    return this.#db.transaction().execute(async (trx) => {
      const lineage = [serial];
      let frontier = [serial];
      while (frontier.length > 0) {
        const children = await trx.selectFrom('registry_certificates').select('serial').where('renewed_from', 'in', frontier).execute();
        frontier = children.map((c) => c.serial).filter((s) => !lineage.includes(s));
        lineage.push(...frontier);
      }
      const revoked = await trx.updateTable('registry_certificates').set({ revoked_at: at }).where('serial', 'in', lineage).where('revoked_at', 'is', null).returning('serial').execute();
      const done = new Set(revoked.map((r) => r.serial));
      return lineage.filter((s) => done.has(s));
    });
  }

  /** Revokes a device's unexpired, unrevoked certificates; returns their serials. */
  async revokeUnexpiredOfDevice(deviceId: string, at: number): Promise<string[]> {
    const rows = await this.#db
      .updateTable('registry_certificates')
      .set({ revoked_at: at })
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .where('not_after', '>', at)
      .returning('serial')
      .execute();
    return rows.map((r) => r.serial);
  }

  /** Revoked certificates of one CA that have not expired yet at `now`: the CRL's entries. */
  async revokedOfCa(caId: string, now: number): Promise<{ serial: string; revokedAt: number }[]> {
    const rows = await this.#db
      .selectFrom('registry_certificates')
      .select(['serial', 'revoked_at'])
      .where('ca_id', '=', caId)
      .where('revoked_at', 'is not', null)
      .where('not_after', '>', now)
      .orderBy('revoked_at')
      .execute();
    return rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at ?? now }));
  }

  /**
   * Devices still depending on a CA: live devices none of whose valid certificates was
   * issued by another CA. Retiring that CA would lock them out.
   */
  async devicesOnlyOnCa(caId: string, now: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('registry_devices as d')
      .select('d.id')
      .where('d.status', 'in', ['active', 'suspended'])
      .where((eb) =>
        eb.and([
          eb.exists(
            eb.selectFrom('registry_certificates as c').select('c.serial').whereRef('c.device_id', '=', 'd.id').where('c.ca_id', '=', caId).where('c.revoked_at', 'is', null).where('c.not_after', '>', now),
          ),
          eb.not(
            eb.exists(
              eb.selectFrom('registry_certificates as c').select('c.serial').whereRef('c.device_id', '=', 'd.id').where('c.ca_id', '!=', caId).where('c.revoked_at', 'is', null).where('c.not_after', '>', now),
            ),
          ),
        ]),
      )
      .orderBy('d.id')
      .execute();
    return rows.map((r) => r.id);
  }
}
