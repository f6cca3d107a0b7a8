import { createHash } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';
import { normalizeSerial } from '../domain/serial.js';
import type { CertificateRecord } from '../domain/records.js';
import { issueDeviceCertificate, parseCsr } from '../pki/index.js';
import type { CaService } from './ca-service.js';

export interface ParsedCsr {
  readonly publicKeyPem: string;
  readonly commonName: string | undefined;
  /** sha256 hex of the public key: identifies "the same CSR" across retries. */
  readonly keyFingerprint: string;
}

/** Public key fingerprint as the registry keys retries: sha256 hex of the SPKI PEM body. */
export function publicKeyFingerprint(publicKeyPem: string): string {
  const body = publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Parses a CSR (PEM, self-signature, RSA-2048 or larger) or throws the PKI's reason:
 * CSR_PEM_INVALID, CSR_SIGNATURE_INVALID, CSR_KEY_UNSUPPORTED, CSR_KEY_TOO_SMALL (400 each in
 * kernel's ERROR_STATUS).
 */
export function readCsr(pem: string): ParsedCsr {
  const parsed = parseCsr(pem);
  if (!parsed.ok) throw new OutpostError(parsed.code, parsed.reason);
  return { publicKeyPem: parsed.value.publicKeyPem, commonName: parsed.value.commonName, keyFingerprint: publicKeyFingerprint(parsed.value.publicKeyPem) };
}

/** Device certificates from the active CA, `OUTPOST_DEVICE_CERT_DAYS` long. */
export class CertificateIssuer {
  readonly #ca: CaService;
  readonly #days: number;
  readonly #now: () => number;

  constructor(deps: { ca: CaService; deviceCertDays: number; now: () => number }) {
    this.#ca = deps.ca;
    this.#days = deps.deviceCertDays;
    this.#now = deps.now;
  }

  /** Issues (does not store) a certificate for `deviceId` over the CSR's key. */
  async issueForDevice(deviceId: string, csr: ParsedCsr): Promise<CertificateRecord> {
    const active = this.#ca.active();
    const now = this.#now();
    const issued = await issueDeviceCertificate(this.#ca.material(active.id), { publicKeyPem: csr.publicKeyPem, deviceId, validityDays: this.#days, now });
    return {
      serial: normalizeSerial(issued.serial),
      kind: 'device',
      subject: deviceId,
      deviceId,
      role: null,
      fingerprint: issued.fingerprint,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      revokedAt: null,
      caId: active.id,
      pem: issued.certPem,
      createdAt: now,
    };
  }
}
