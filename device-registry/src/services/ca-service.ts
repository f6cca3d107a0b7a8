import { randomUUID } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import type { CaStore } from '../adapters/ca-store.js';
import type { CertificateStore } from '../adapters/certificate-store.js';
import type { CaRecord } from '../domain/records.js';
import { createCertificateAuthority, openPrivateKey, sealPrivateKey, type CaMaterial } from '../pki/index.js';

/** SPEC: the platform CA lives ten years. */
export const CA_VALIDITY_DAYS = 3650;

export interface CaServiceDeps {
  readonly store: CaStore;
  readonly certificates: CertificateStore;
  readonly secretKey: Buffer;
  readonly now: () => number;
  /** Awaited after a rotation or retirement: the server certificate and the CRL follow the CAs. */
  readonly onChange?: () => Promise<void>;
}

/**
 * The platform CAs. One is `active` (issues every new certificate); after a rotation the
 * former ones are `previous`: still trusted and in the chain handed out, until retired.
 * Keys are sealed at rest with the secret key and opened once, in memory.
 */
export class CaService {
  readonly #deps: CaServiceDeps;
  readonly #keys = new Map<string, CaMaterial>();
  #cas: CaRecord[] = [];

  constructor(deps: CaServiceDeps) {
    this.#deps = deps;
  }

  /** Loads the CAs, generating the first one on first start; checks the secret key opens them. */
  async ensure(): Promise<void> {
    this.#cas = await this.#deps.store.list();
    if (!this.#cas.some((ca) => ca.status === 'active')) await this.#create();
    for (const ca of this.trusted()) this.material(ca.id);
  }

  /** Non-retired CAs, the active one first, then newest to oldest. */
  trusted(): CaRecord[] {
    const live = this.#cas.filter((ca) => ca.status !== 'retired');
    return [...live.filter((ca) => ca.status === 'active'), ...live.filter((ca) => ca.status !== 'active')];
  }

  all(): readonly CaRecord[] {
    return this.#cas;
  }

  active(): CaRecord {
    const ca = this.#cas.find((c) => c.status === 'active');
    if (ca === undefined) throw new OutpostError('REGISTRY_CA_UNAVAILABLE', 'the platform CA is not loaded yet');
    return ca;
  }

  byId(id: string): CaRecord | undefined {
    return this.#cas.find((ca) => ca.id === id);
  }

  /** The CA certificate and its opened key. */
  material(id: string): CaMaterial {
    const cached = this.#keys.get(id);
    if (cached !== undefined) return cached;
    const ca = this.byId(id);
    if (ca === undefined) throw new OutpostError('REGISTRY_CA_UNAVAILABLE', `no CA ${id}`);
    let keyPem: string;
    try {
      keyPem = openPrivateKey(ca.sealedKey, this.#deps.secretKey);
    } catch (cause) {
      throw new OutpostError('REGISTRY_CA_UNAVAILABLE', `the key of CA ${ca.commonName} cannot be opened: is OUTPOST_SECRET_KEY the one it was sealed with?`, { cause });
    }
    const material = { certPem: ca.certPem, keyPem };
    this.#keys.set(id, material);
    return material;
  }

  /** The trusted CA certificates as one PEM string (SPEC `caChain`, `GET /ca` chainPem). */
  chainPem(): string {
    return this.trusted()
      .map((ca) => ca.certPem.trim())
      .join('\n')
      .concat('\n');
  }

  /** Adds a new active CA; the former active one stays trusted as `previous`. */
  async rotate(): Promise<CaRecord> {
    const created = await this.#create(this.active().id);
    this.#cas = await this.#deps.store.list();
    await this.#deps.onChange?.();
    return created;
  }

  /**
   * Retires previous CAs (all of them, or the one named): they leave the chain, so their
   * certificates stop working. Refused while a live device holds certificates only from a
   * CA being retired, unless forced — it could not reconnect.
   */
  async retire(options: { id?: string; force?: boolean }): Promise<CaRecord[]> {
    const candidates = this.#cas.filter((ca) => ca.status === 'previous' && (options.id === undefined || ca.id === options.id));
    if (options.id !== undefined && candidates.length === 0) {
      const named = this.byId(options.id);
      if (named === undefined) throw new OutpostError('CA_NOT_FOUND', `no CA ${options.id}`);
      throw new OutpostError('CA_RETIRE_CONFLICT', `CA ${options.id} is ${named.status}: only a previous CA can be retired (rotate first)`);
    }
    if (candidates.length === 0) throw new OutpostError('CA_RETIRE_CONFLICT', 'there is no previous CA to retire: rotate first');
    const now = this.#deps.now();
    if (options.force !== true) {
      for (const ca of candidates) {
        const stranded = await this.#deps.certificates.devicesOnlyOnCa(ca.id, now);
        if (stranded.length > 0) {
          throw new OutpostError(
            'CA_RETIRE_CONFLICT',
            `${stranded.length} device(s) still hold certificates only from CA ${ca.commonName} (e.g. ${stranded.slice(0, 5).join(', ')}): ` +
              'let them renew onto the active CA first, or retire with force',
            { details: { caId: ca.id, devices: stranded.slice(0, 100), count: stranded.length } },
          );
        }
      }
    }
    for (const ca of candidates) {
      await this.#deps.store.setStatus(ca.id, 'retired', now);
      this.#keys.delete(ca.id);
    }
    this.#cas = await this.#deps.store.list();
    await this.#deps.onChange?.();
    return candidates.map((ca) => this.byId(ca.id) ?? ca);
  }

  close(): void {
    this.#keys.clear();
  }

  async #create(demote?: string): Promise<CaRecord> {
    const now = this.#deps.now();
    const generation = Math.max(0, ...this.#cas.map((ca) => ca.generation)) + 1;
    const commonName = `Outpost platform CA ${generation}`;
    const issued = await createCertificateAuthority({ commonName, validityDays: CA_VALIDITY_DAYS, now });
    const record: CaRecord = {
      id: `ca_${randomUUID()}`,
      generation,
      commonName,
      certPem: issued.certPem,
      sealedKey: sealPrivateKey(issued.keyPem, this.#deps.secretKey),
      fingerprint: issued.fingerprint,
      serial: issued.serial,
      status: 'active',
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      createdAt: now,
      retiredAt: null,
      crlNumber: 0,
    };
    await this.#deps.store.insert(record, demote);
    this.#keys.set(record.id, { certPem: issued.certPem, keyPem: issued.keyPem });
    this.#cas = [record, ...this.#cas];
    return record;
  }
}
