import type { CertificateStore } from '../adapters/certificate-store.js';
import type { CertificateRecord } from '../domain/records.js';
import { normalizeSerial } from '../domain/serial.js';
import { generateRsaKeyPair, issueClientCertificate } from '../pki/index.js';
import type { CaService } from './ca-service.js';
import { readCsr } from './certificate-issuer.js';

export interface CredentialInput {
  readonly name: string;
  readonly role: 'integration';
  /** Without a CSR the key pair is made here and its private key returned once, never stored. */
  readonly csr?: string;
  readonly validityDays: number;
}

export interface IssuedCredential {
  readonly certificate: CertificateRecord;
  readonly privateKeyPem?: string;
}

/** Client certificates for integrations (MQTT `integrations/#`): CN = name, OU = role. */
export class CredentialService {
  readonly #ca: CaService;
  readonly #certificates: CertificateStore;
  readonly #now: () => number;

  constructor(deps: { ca: CaService; certificates: CertificateStore; now: () => number }) {
    this.#ca = deps.ca;
    this.#certificates = deps.certificates;
    this.#now = deps.now;
  }

  async create(input: CredentialInput): Promise<IssuedCredential> {
    let publicKeyPem: string;
    let privateKeyPem: string | undefined;
    if (input.csr !== undefined) {
      publicKeyPem = readCsr(input.csr).publicKeyPem;
    } else {
      const pair = await generateRsaKeyPair(2048);
      publicKeyPem = pair.publicKeyPem;
      privateKeyPem = pair.privateKeyPem;
    }
    const active = this.#ca.active();
    const now = this.#now();
    const issued = await issueClientCertificate(this.#ca.material(active.id), {
      publicKeyPem,
      name: input.name,
      role: input.role,
      validityDays: input.validityDays,
      now,
    });
    const certificate: CertificateRecord = {
      serial: normalizeSerial(issued.serial),
      kind: 'integration',
      subject: input.name,
      deviceId: null,
      role: input.role,
      fingerprint: issued.fingerprint,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      revokedAt: null,
      caId: active.id,
      pem: issued.certPem,
      createdAt: now,
    };
    await this.#certificates.insert(certificate);
    return privateKeyPem === undefined ? { certificate } : { certificate, privateKeyPem };
  }
}
