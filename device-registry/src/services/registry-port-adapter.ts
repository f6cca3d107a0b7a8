import type { CertificateStore } from '../adapters/certificate-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import type { Device } from '../domain/records.js';
import { certificateValidity } from '../domain/renewal-rules.js';
import { normalizeSerial } from '../domain/serial.js';
import type { CertificateCheck, DeviceSummary, RegistryPort } from '@outpost/kernel';
import type { CommandService } from './command-service.js';
import type { ConfigService } from './config-service.js';
import type { RegistryEvents } from './registry-events.js';

/** Devices read per query while collecting ids. */
const DEVICE_ID_PAGE = 1_000;

function summary(device: Device): DeviceSummary {
  return { id: device.id, status: device.status, group: device.group, tags: device.tags };
}

/** The `registry` port other parts (the broker first) receive from the platform. */
export function createRegistryPort(deps: {
  devices: DeviceStore;
  certificates: CertificateStore;
  configs: ConfigService;
  commands: CommandService;
  events: RegistryEvents;
  now: () => number;
}): RegistryPort {
  const { devices, certificates, configs, commands, events, now } = deps;
  return {
    async lookup(deviceId) {
      const device = await devices.get(deviceId);
      return device === undefined ? undefined : summary(device);
    },

    async isSerialRevoked(serial) {
      const cert = await certificates.get(normalizeSerial(serial));
      return cert?.revokedAt !== null && cert?.revokedAt !== undefined;
    },

    async checkCertificate(deviceId, serial): Promise<CertificateCheck> {
      const device = await devices.get(deviceId);
      if (device === undefined || device.status === 'decommissioned') return { ok: false, code: 'DEVICE_UNKNOWN', reason: `no device ${deviceId}` };
      if (device.status === 'suspended') return { ok: false, code: 'DEVICE_SUSPENDED', reason: `device ${deviceId} is suspended` };
      if (device.status === 'revoked') return { ok: false, code: 'DEVICE_REVOKED', reason: `device ${deviceId} is revoked` };
      const cert = await certificates.get(normalizeSerial(serial));
      if (cert === undefined || cert.deviceId !== deviceId) return { ok: false, code: 'CERT_UNKNOWN', reason: `certificate ${serial} is not one of ${deviceId}'s` };
      switch (certificateValidity(cert, now())) {
        case 'revoked':
          return { ok: false, code: 'CERT_REVOKED', reason: `certificate ${cert.serial} was revoked` };
        case 'expired':
          return { ok: false, code: 'CERT_EXPIRED', reason: `certificate ${cert.serial} expired` };
        case 'not-yet-valid':
          return { ok: false, code: 'CERT_NOT_YET_VALID', reason: `certificate ${cert.serial} is not valid yet` };
        case 'valid':
          return { ok: true, device: summary(device) };
      }
    },

    events: events.stream,

    async markSeen(deviceId, at) {
      await devices.recordStatus(deviceId, { at });
    },

    async recordStatus(deviceId, status) {
      await devices.recordStatus(deviceId, status);
    },

    async deviceIds(filter) {
      const tags = Object.entries(filter.tags ?? {}).map(([key, value]) => ({ key, value }));
      const ids: string[] = [];
      for (let after: string | undefined; ; ) {
        const page = await devices.list({ limit: DEVICE_ID_PAGE, tags, ...(filter.group === undefined ? {} : { group: filter.group }), ...(after === undefined ? {} : { after }) });
        for (const device of page) ids.push(device.id);
        if (page.length < DEVICE_ID_PAGE) return ids;
        after = page[page.length - 1]?.id;
      }
    },

    groupExists: (name) => devices.groupExists(name),

    configs: {
      desiredConfig: (deviceId) => configs.desired(deviceId),
      recordReported: (deviceId, reported) => configs.recordReported(deviceId, reported),
    },

    commands: {
      pendingCommands: (deviceId) => commands.pending(deviceId),
      markCommand: (deviceId, id, state, result) => commands.mark(deviceId, id, state, result),
    },
  };
}
