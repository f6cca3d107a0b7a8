import { OutpostError, renewalSigningBytes, type RenewalRequest } from '@outpost/protocol';
import type { CertificateStore } from '../adapters/certificate-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import { renewalRefusal } from '../domain/lifecycle.js';
import type { CertificateRecord, Device } from '../domain/records.js';
import type { RateLimiter } from '../domain/rate-limiter.js';
import { certificateValidity, checkGraceRenewal, currentCertificate, tooEarlyRefusal } from '../domain/renewal-rules.js';
import { normalizeSerial } from '../domain/serial.js';
import { certificateInfo, isIssuedBy, verifySignature } from '../pki/index.js';
import type { CaService } from './ca-service.js';
import { publicKeyFingerprint, readCsr, type CertificateIssuer } from './certificate-issuer.js';
import type { RegistryEvents } from './registry-events.js';

export interface RenewOutcome {
  readonly device: Device;
  readonly certificate: CertificateRecord;
  /** True when the current certificate was answered again (same key, before the renewal window). */
  readonly reused: boolean;
}

export interface RenewalServiceDeps {
  readonly ca: CaService;
  readonly devices: DeviceStore;
  readonly certificates: CertificateStore;
  readonly issuer: CertificateIssuer;
  readonly events: RegistryEvents;
  readonly now: () => number;
  readonly renewGraceDays: number;
  /** Renewals per device (`OUTPOST_RENEW_RATE_LIMIT` per `OUTPOST_RENEW_RATE_WINDOW`), keyed by device id. */
  readonly perDevice: RateLimiter;
  /** `OUTPOST_RENEW_FROM_PERCENT`: renewals with a new key from this far into the current certificate's lifetime. */
  readonly renewFromPercent: number;
}

function unauthenticated(message: string): OutpostError {
  return new OutpostError('RENEW_UNAUTHENTICATED', message, { status: 401 });
}

/**
 * `POST /device/v1/renew`: a new certificate from the active CA for a new CSR, authenticated
 * by the device's current client certificate, or — for a certificate that expired while the
 * device was offline — by a request signed with the key of its latest certificate within the
 * renewal grace. The old certificate stays valid until it expires (they overlap).
 *
 * One certificate cannot mint many (issue 11, D5): renewals are rate-limited per device
 * (RENEW_RATE_LIMITED, 429); while the device's newest valid certificate is not yet near its
 * renewal time a CSR with the same key answers that certificate again and one with another key
 * is refused (RENEW_TOO_EARLY, 409) — unless it comes from a previous CA (rotation); renewals of one device run one at a time; and every new
 * certificate records the serial it was renewed from, so revoking that serial revokes it too.
 */
export class RenewalService {
  readonly #deps: RenewalServiceDeps;
  /** The renewal in progress per device: the next one waits for it. */
  readonly #inProgress = new Map<string, Promise<unknown>>();

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
    const { device, certificate } = await this.authenticateCertificate(peerPem);
    return this.#issue(device, csrPem, certificate.serial);
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
    return this.#issue(device, request.csr, latest.serial);
  }

  async #issue(device: Device, csrPem: string, renewedFrom: string): Promise<RenewOutcome> {
    const refusal = renewalRefusal(device.id, device.status);
    if (refusal !== undefined) throw refusal;
    const waitMs = this.#deps.perDevice.take(device.id);
    if (waitMs > 0) {
      const retryAfterS = Math.ceil(waitMs / 1000);
      throw new OutpostError('RENEW_RATE_LIMITED', `too many renewals of device ${device.id}; retry in ${retryAfterS} s`, { status: 429, details: { retryAfterS } });
    }
    const csr = readCsr(csrPem);
    return this.#oneAtATime(device.id, async () => {
      const { certificates, now } = this.#deps;
      const current = currentCertificate(await certificates.ofDevice(device.id), now());
      // A certificate from a previous CA renews at once: that is how devices move onto a rotated CA.
      if (current !== undefined && current.caId === this.#deps.ca.active().id) {
        const early = tooEarlyRefusal(device.id, current, now(), this.#deps.renewFromPercent);
        if (early !== undefined) {
          if (publicKeyFingerprint(certificateInfo(current.pem).publicKeyPem) === csr.keyFingerprint) return { device, certificate: current, reused: true };
          throw early;
        }
      }
      const issued = await this.#deps.issuer.issueForDevice(device.id, csr);
      const certificate: CertificateRecord = { ...issued, renewedFrom };
      await certificates.insert(certificate);
      this.#deps.events.emit('renewed', device.id, { serial: certificate.serial });
      return { device, certificate, reused: false };
    });
  }

  async #oneAtATime<T>(deviceId: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#inProgress.get(deviceId) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.catch(() => undefined);
    this.#inProgress.set(deviceId, settled);
    try {
      return await next;
    } finally {
      if (this.#inProgress.get(deviceId) === settled) this.#inProgress.delete(deviceId);
    }
  }
}
