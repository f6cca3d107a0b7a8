import { OutpostError } from '@outpost/protocol';
import type { CertificateStore } from '../adapters/certificate-store.js';
import type { CommandStore } from '../adapters/command-store.js';
import type { ConfigStore } from '../adapters/config-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import { transition, type LifecycleAction } from '../domain/lifecycle.js';
import type { CertificateRecord, Device } from '../domain/records.js';
import type { RegistryEvents } from './registry-events.js';

const EVENT_OF = { suspend: 'suspended', resume: 'resumed', revoke: 'revoked', delete: 'deleted' } as const;

/**
 * Suspend, resume, revoke and delete (decommission) devices, and revoke single certificates.
 * Revoking or deleting a device revokes all its unexpired certificates: one `cert-revoked`
 * event per serial, then the device's own event.
 */
export class LifecycleService {
  readonly #devices: DeviceStore;
  readonly #certificates: CertificateStore;
  readonly #commands: CommandStore;
  readonly #configs: ConfigStore;
  readonly #events: RegistryEvents;
  readonly #now: () => number;
  readonly #onRevoked: () => void;

  constructor(deps: {
    devices: DeviceStore;
    certificates: CertificateStore;
    commands: CommandStore;
    configs: ConfigStore;
    events: RegistryEvents;
    now: () => number;
    /** Called after any certificate was revoked (the CRL is rebuilt). */
    onRevoked: () => void;
  }) {
    this.#devices = deps.devices;
    this.#certificates = deps.certificates;
    this.#commands = deps.commands;
    this.#configs = deps.configs;
    this.#events = deps.events;
    this.#now = deps.now;
    this.#onRevoked = deps.onRevoked;
  }

  async apply(id: string, action: LifecycleAction): Promise<Device> {
    const device = await this.#devices.get(id);
    if (device === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${id}`);
    const { to, changed } = transition(id, device.status, action);
    if (!changed) return device;
    const now = this.#now();
    await this.#devices.update(id, { status: to }, now);
    if (action === 'revoke' || action === 'delete') {
      const serials = await this.#certificates.revokeUnexpiredOfDevice(id, now);
      if (serials.length > 0) this.#onRevoked();
      this.#events.certsRevoked(id, serials);
      if (action === 'delete') {
        await this.#commands.expireOpen(id, now);
        await this.#configs.deleteOfDevice(id);
      }
    }
    this.#events.emit(EVENT_OF[action], id);
    return (await this.#devices.get(id)) ?? device;
  }

  /**
   * Revokes one certificate by serial, and every certificate renewed from it (they were
   * authenticated by it): one `cert-revoked` event per serial. Revoking it again is a no-op.
   */
  async revokeCertificate(serial: string): Promise<CertificateRecord> {
    const certificate = await this.#certificates.get(serial);
    if (certificate === undefined) throw new OutpostError('CERT_NOT_FOUND', `no certificate with serial ${serial}`);
    const serials = await this.#certificates.revokeWithRenewals(serial, this.#now());
    if (serials.length > 0) {
      this.#onRevoked();
      if (certificate.deviceId !== null) this.#events.certsRevoked(certificate.deviceId, serials);
      else for (const revoked of serials) this.#events.credentialRevoked(revoked);
    }
    return (await this.#certificates.get(serial)) ?? certificate;
  }
}
