import { OutpostError } from '@outpost/protocol';
import { CertificateStore } from '../adapters/certificate-store.js';
import { DeviceStore } from '../adapters/device-store.js';
import type { RegistryDb } from '../adapters/json-columns.js';
import { TokenStore, type EnrollmentAttempt } from '../adapters/token-store.js';
import { assignedDeviceId, deviceIdPrefix, requestedDeviceId } from '../domain/device-id.js';
import { checkEnrollmentToken, type EnrollmentToken } from '../domain/enrollment-token.js';
import type { CertificateRecord, Device } from '../domain/records.js';
import { readCsr, type CertificateIssuer, type ParsedCsr } from './certificate-issuer.js';
import type { RegistryEvents } from './registry-events.js';
import { hashTokenSecret } from './token-secrets.js';

export interface EnrollInput {
  readonly token: string;
  readonly csr: string;
  readonly hardware?: string;
  readonly agentVersion?: string;
  readonly deviceId?: string;
}

export interface EnrollOutcome {
  readonly device: Device;
  readonly certificate: CertificateRecord;
  /** True when this was a retry of an earlier enrollment (same token, same key): nothing new was issued. */
  readonly retried: boolean;
}

export interface EnrollmentServiceDeps {
  readonly db: RegistryDb;
  readonly issuer: CertificateIssuer;
  readonly events: RegistryEvents;
  readonly now: () => number;
  readonly randomSuffix: () => string;
}

const ASSIGN_ATTEMPTS = 8;

/** `POST /device/v1/enroll`: token + CSR → device and certificate. */
export class EnrollmentService {
  readonly #deps: EnrollmentServiceDeps;
  readonly #tokens: TokenStore;
  readonly #devices: DeviceStore;
  readonly #certificates: CertificateStore;

  constructor(deps: EnrollmentServiceDeps) {
    this.#deps = deps;
    this.#tokens = new TokenStore(deps.db);
    this.#devices = new DeviceStore(deps.db);
    this.#certificates = new CertificateStore(deps.db);
  }

  async enroll(input: EnrollInput): Promise<EnrollOutcome> {
    const now = this.#deps.now();
    const token = await this.#tokens.byHash(hashTokenSecret(input.token));
    const refused = checkEnrollmentToken(token, now, { retry: true });
    if (refused !== undefined || token === undefined) throw refused;
    const csr = readCsr(input.csr);

    const attempt = await this.#tokens.attempt(token.id, csr.keyFingerprint);
    const replayed = attempt === undefined ? undefined : await this.#replay(attempt);
    if (replayed !== undefined) return replayed;

    const usedUp = checkEnrollmentToken(token, now, { retry: false });
    if (usedUp !== undefined) throw usedUp;

    const deviceId = await this.#chooseId(token, input.deviceId, csr.commonName);
    const certificate = await this.#deps.issuer.issueForDevice(deviceId, csr);
    const device: Device = {
      id: deviceId,
      status: 'active',
      group: token.group,
      tags: token.tags,
      metadata: {},
      hardware: input.hardware ?? null,
      agentVersion: input.agentVersion ?? null,
      firmware: null,
      online: false,
      lastSeen: null,
      enrolledWith: token.id,
      createdAt: now,
      updatedAt: now,
    };
    const committed = await this.#commit(token, csr, device, certificate, now);
    if (committed !== undefined) return committed;
    this.#deps.events.emit('enrolled', deviceId, { serial: certificate.serial, group: device.group });
    return { device, certificate, retried: false };
  }

  /** The same token and key enrolled before: answer the same device and certificate again. */
  async #replay(attempt: EnrollmentAttempt): Promise<EnrollOutcome | undefined> {
    const device = await this.#devices.get(attempt.deviceId);
    const certificate = await this.#certificates.get(attempt.serial);
    if (device === undefined || certificate === undefined || device.status === 'decommissioned') return undefined;
    if (device.status === 'revoked') throw new OutpostError('DEVICE_REVOKED', `device ${device.id} was revoked; it cannot enroll again under this id`, { status: 403 });
    if (certificate.revokedAt !== null) throw new OutpostError('CERT_REVOKED', `the certificate issued to ${device.id} for this key was revoked; enroll with a new key`, { status: 403 });
    return { device, certificate, retried: true };
  }

  async #chooseId(token: EnrollmentToken, explicit: string | undefined, commonName: string | undefined): Promise<string> {
    const wanted = requestedDeviceId(explicit, commonName);
    if (wanted !== undefined) {
      await this.#assertFree(wanted);
      return wanted;
    }
    const prefix = deviceIdPrefix(token.group, token.deviceIdPrefix);
    for (let i = 0; i < ASSIGN_ATTEMPTS; i++) {
      const id = assignedDeviceId(prefix, this.#deps.randomSuffix());
      const existing = await this.#devices.get(id);
      if (existing === undefined) return id;
    }
    throw new OutpostError('INTERNAL', 'could not assign a free device id');
  }

  async #assertFree(id: string): Promise<void> {
    const existing = await this.#devices.get(id);
    if (existing !== undefined && existing.status !== 'decommissioned') {
      throw new OutpostError('DEVICE_ID_CONFLICT', `device id ${id} belongs to another device (${existing.status}); use another CN, or delete that device first`, {
        details: { deviceId: id },
      });
    }
  }

  /**
   * Stores the enrollment atomically: one use of the token, the device (its group created on
   * first use), the certificate and the attempt. Answers an earlier outcome when a concurrent
   * retry of the same CSR won the race.
   */
  async #commit(token: EnrollmentToken, csr: ParsedCsr, device: Device, certificate: CertificateRecord, now: number): Promise<EnrollOutcome | undefined> {
    let raced: EnrollmentAttempt | undefined;
    await this.#deps.db.transaction().execute(async (trx) => {
      const tokens = new TokenStore(trx);
      const devices = new DeviceStore(trx);
      raced = await tokens.attempt(token.id, csr.keyFingerprint);
      if (raced !== undefined && (await devices.get(raced.deviceId))?.status !== 'decommissioned') return;
      raced = undefined;
      const existing = await devices.get(device.id);
      if (existing !== undefined && existing.status !== 'decommissioned') {
        throw new OutpostError('DEVICE_ID_CONFLICT', `device id ${device.id} was just taken by another device`, { details: { deviceId: device.id } });
      }
      if (!(await tokens.consumeUse(token.id, now))) {
        const fresh = await tokens.byId(token.id);
        throw checkEnrollmentToken(fresh, now, { retry: false }) ?? new OutpostError('ENROLL_TOKEN_USED_UP', `enrollment token ${token.id} is used up`, { status: 403 });
      }
      await devices.ensureGroup(device.group, now);
      await devices.put(device);
      await new CertificateStore(trx).insert(certificate);
      await tokens.saveAttempt({ tokenId: token.id, keyFingerprint: csr.keyFingerprint, deviceId: device.id, serial: certificate.serial }, now);
    });
    return raced === undefined ? undefined : this.#replay(raced);
  }
}
