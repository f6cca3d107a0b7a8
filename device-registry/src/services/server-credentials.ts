import type { TlsCredentials, TlsPort } from '@outpost/kernel';
import { Subject, type Observable } from 'rxjs';
import type { CaStore } from '../adapters/ca-store.js';
import { DAY_MS } from '../domain/renewal-rules.js';
import { issueServerCertificate, openPrivateKey, sealPrivateKey } from '../pki/index.js';
import type { CaService } from './ca-service.js';

export const SERVER_CERT_DAYS = 365;
/** Reissue the server certificate when it has less than this left. */
export const SERVER_CERT_RENEW_BEFORE_MS = 30 * DAY_MS;

export interface ServerCredentialsDeps {
  readonly ca: CaService;
  readonly store: CaStore;
  readonly secretKey: Buffer;
  readonly serverNames: readonly string[];
  readonly now: () => number;
}

/**
 * The platform server certificate for the device and MQTT listeners (the `tls` port). It is
 * issued by the oldest trusted CA — the one every device, however long offline, still trusts
 * — and reissued when `OUTPOST_SERVER_NAMES` change, when that CA is retired, or when it
 * nears expiry. The handshake carries it with the whole trusted chain.
 */
export class ServerCredentials implements TlsPort {
  readonly #deps: ServerCredentialsDeps;
  readonly #changes = new Subject<TlsCredentials>();
  #current: TlsCredentials | undefined;

  constructor(deps: ServerCredentialsDeps) {
    this.#deps = deps;
  }

  get changes(): Observable<TlsCredentials> {
    return this.#changes.asObservable();
  }

  current(): TlsCredentials | undefined {
    return this.#current;
  }

  /** Reissues if needed, and emits when the credentials (certificate or chain) changed. */
  async refresh(): Promise<void> {
    const { ca, store, secretKey, now } = this.#deps;
    const issuer = ca.trusted().reduce((oldest, c) => (c.generation < oldest.generation ? c : oldest));
    // The first name is the CN; a change of order alone is no reason to reissue.
    const names = [...new Set(this.#deps.serverNames)];
    const sameNames = (saved: readonly string[]): boolean => [...saved].sort().join(',') === [...names].sort().join(',');
    let saved = await store.serverCert();
    const stale =
      saved === undefined ||
      saved.caId !== issuer.id ||
      !sameNames(saved.names) ||
      saved.notAfter - now() < SERVER_CERT_RENEW_BEFORE_MS;
    if (stale) {
      const issued = await issueServerCertificate(ca.material(issuer.id), { names, validityDays: SERVER_CERT_DAYS, now: now() });
      saved = {
        caId: issuer.id,
        certPem: issued.certPem,
        sealedKey: sealPrivateKey(issued.keyPem, secretKey),
        names,
        serial: issued.serial,
        notAfter: issued.notAfter,
        issuedAt: now(),
      };
      await store.saveServerCert(saved);
    }
    if (saved === undefined) return;
    const chain = ca.chainPem();
    const next: TlsCredentials = {
      cert: `${saved.certPem.trim()}\n${chain}`,
      key: this.#current !== undefined && !stale ? this.#current.key : openPrivateKey(saved.sealedKey, secretKey),
      ca: chain,
    };
    if (this.#current !== undefined && this.#current.cert === next.cert && this.#current.ca === next.ca) return;
    this.#current = next;
    this.#changes.next(next);
  }

  close(): void {
    this.#changes.complete();
  }
}
