import { OutpostError, renewalSigningBytes, type RenewalRequest } from '@outpost/protocol';
import type { CertificateStore } from '../adapters/certificate-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import { renewalRefusal } from '../domain/lifecycle.js';
import type { CertificateRecord, Device } from '../domain/records.js';
import { certificateValidity, checkGraceRenewal } from '../domain/renewal-rules.js';
import { normalizeSerial } from '../domain/serial.js';
import { certificateInfo, isIssuedBy, verifySignature } from '../pki/index.js';
import type { CaService } from './ca-service.js';
import { readCsr, type CertificateIssuer } from './certificate-issuer.js';
import type { RegistryEvents } from './registry-events.js';

export interface RenewOutcome {
  readonly device: Device;
  readonly certificate: CertificateRecord;
}

export interface RenewalServiceDeps {
  readonly ca: CaService;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly issuer: CertificateIssuer;
  readonly events: RegistryEvents;
  readonly now: () => number;
  readonly renewGraceDays: number;
}

function unauthenticated(message: string): OutpostError {
  return new OutpostError('RENEW_UNAUTHENTICATED', message, { status: 401 });
}

/**
 * `POST /device/v1/renew`: a new certificate from the active CA for a new CSR, authenticated
 * by the device's current client certificate, or — for a certificate that expired while the
 * device was offline — by a request signed with the key of its latest certificate within the
 * renewal grace. The old certificate stays valid until it expires (they overlap).
 */
export class RenewalService {
  readonly #deps: RenewalServiceDeps;

  constructor(deps: RenewalServiceDeps) {
    this.#deps = deps;
  }

  /** The device a client certificate (PEM, from the TLS handshake) authenticates, or an error. */
  async authenticateCertificate(peerPem: string): Promise<{ device: Device; certificate: CertificateRecord }> {
    const { ca, certificates, devices, now } = this.#deps;
    if (!ca.trusted().some((c) => isIssuedBy(peerPem, c.certPem))) throw unauthenticated('the client certificate was not issued by a platform CA');
    const info = certificateInfo(peerPem);
    const certificate = await certificates.get(normalizeSerial(info.serial));
    if (certificate === undefined || certificate.kind !== 'device' || certificate.deviceId === null) throw unauthenticated('the client certificate is not a device certificate of this platform');
    const validity = certificateValidity(certificate, now());
    if (validity === 'revoked') throw new OutpostError('CERT_REVOKED', `certificate ${certificate.serial} was revoked`, { status: 403 });
    if (validity !== 'valid') throw unauthenticated(`the client certificate is ${validity}: renew with a request signed by the device key instead`);
    const device = await devices.get(certificate.deviceId);
    if (device === undefined) throw unauthenticated(`device ${certificate.deviceId} is unknown`);
    return { device, certificate };
  }

  async renewWithCertificate(peerPem: string, csrPem: string): Promise<RenewOutcome> {
    const { device } = await this.authenticateCertificate(peerPem);
    return this.#issue(device, csrPem);
  }

  async renewWithSignature(request: RenewalRequest): Promise<RenewOutcome> {
    const { devices, certificates, now, renewGraceDays } = this.#deps;
    const device = await devices.get(request.deviceId);
    const latest = device === undefined ? undefined : await certificates.latestOfDevice(device.id);
    if (device === undefined || latest === undefined) throw unauthenticated(`device ${request.deviceId} is unknown: enroll it with a token`);
    const publicKeyPem = certificateInfo(latest.pem).publicKeyPem;
    let signed = false;
    try {
      signed = verifySignature(publicKeyPem, renewalSigningBytes(request), request.sig);
    } catch {
      signed = false;
    }
    if (!signed) throw unauthenticated(`the signature does not verify with the key of ${device.id}'s latest certificate`);
    const refusal = renewalRefusal(device.id, device.status);
    if (refusal !== undefined) throw refusal;
    if (latest.revokedAt !== null) throw new OutpostError('CERT_REVOKED', `certificate ${latest.serial} of ${device.id} was revoked`, { status: 403 });
    const late = checkGraceRenewal({ ts: request.ts, now: now(), certNotAfter: latest.notAfter, graceDays: renewGraceDays });
    if (late !== undefined) throw late;
    return this.#issue(device, request.csr);
  }

  async #issue(device: Device, csrPem: string): Promise<RenewOutcome> {
    const refusal = renewalRefusal(device.id, device.status);
    if (refusal !== undefined) throw refusal;
    const csr = readCsr(csrPem);
    const certificate = await this.#deps.issuer.issueForDevice(device.id, csr);
    await this.#deps.certificates.insert(certificate);
    this.#deps.events.emit('renewed', device.id, { serial: certificate.serial });
    return { device, certificate };
  }
}
