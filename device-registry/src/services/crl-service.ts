import type { CaStore } from '../adapters/ca-store.js';
import type { CertificateStore } from '../adapters/certificate-store.js';
import { DAY_MS } from '../domain/renewal-rules.js';
import { buildCrl } from '../pki/index.js';
import type { CaService } from './ca-service.js';

/** A CRL is valid this long; it is rebuilt after a day, or at once after a revocation. */
export const CRL_VALIDITY_MS = 7 * DAY_MS;
const CRL_REFRESH_MS = DAY_MS;

export interface CrlServiceDeps {
  readonly ca: CaService;
  readonly cas: CaStore;
  readonly certificates: CertificateStore;
  readonly now: () => number;
}

/**
 * The certificate revocation lists: one per trusted CA, signed by it and listing the
 * unexpired certificates it issued that were revoked, concatenated in PEM (the active CA's
 * first). Built on demand and cached until a revocation or a CA change.
 */
export class CrlService {
  readonly #deps: CrlServiceDeps;
  #cached: { pem: string; builtAt: number } | undefined;
  #building: { generation: number; promise: Promise<string> } | undefined;
  #generation = 0;

  constructor(deps: CrlServiceDeps) {
    this.#deps = deps;
  }

  invalidate(): void {
    this.#cached = undefined;
    this.#generation += 1;
  }

  async pem(): Promise<string> {
    const now = this.#deps.now();
    if (this.#cached !== undefined && now - this.#cached.builtAt < CRL_REFRESH_MS && now >= this.#cached.builtAt) return this.#cached.pem;
    const generation = this.#generation;
    // A build started before the last revocation may miss it: never hand that one out.
    if (this.#building !== undefined && this.#building.generation === generation) return this.#building.promise;
    const promise = this.#build(now);
    this.#building = { generation, promise };
    try {
      const pem = await promise;
      if (generation === this.#generation) this.#cached = { pem, builtAt: now };
      return pem;
    } finally {
      if (this.#building?.promise === promise) this.#building = undefined;
    }
  }

  async #build(now: number): Promise<string> {
    const { ca, cas, certificates } = this.#deps;
    const parts: string[] = [];
    for (const record of ca.trusted()) {
      const revoked = await certificates.revokedOfCa(record.id, now);
      const crlNumber = await cas.nextCrlNumber(record.id);
      const pem = await buildCrl(ca.material(record.id), { revoked, thisUpdate: now, nextUpdate: now + CRL_VALIDITY_MS, crlNumber });
      parts.push(pem.trim());
    }
    return `${parts.join('\n')}\n`;
  }
}
