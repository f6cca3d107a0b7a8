import { OutpostError } from '@outpost/protocol';
import type { CertificateStore } from '../adapters/certificate-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import type { DeviceQuery } from '../domain/device-query.js';
import type { CertificateRecord, Device, Group } from '../domain/records.js';
import type { RegistryEvents } from './registry-events.js';

export interface DevicePatchInput {
  readonly group?: string;
  /** Replaces the tags. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Replaces the metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** `GET /fleet/summary`: counts only, so a page can draw its totals before the device list arrives. */
export interface FleetSummary {
  readonly total: number;
  readonly online: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byGroup: readonly { readonly name: string; readonly total: number; readonly online: number }[];
  readonly byFirmware: readonly { readonly firmware: { readonly name: string; readonly version: string } | null; readonly total: number; readonly online: number }[];
}

/** Reading and editing devices and groups (lifecycle changes live in LifecycleService). */
export class DeviceService {
  readonly #devices: DeviceStore;
  readonly #certificates: CertificateStore;
  readonly #events: RegistryEvents;
  readonly #now: () => number;

  constructor(deps: { devices: DeviceStore; certificates: CertificateStore; events: RegistryEvents; now: () => number }) {
    this.#devices = deps.devices;
    this.#certificates = deps.certificates;
    this.#events = deps.events;
    this.#now = deps.now;
  }

  list(query: DeviceQuery): Promise<Device[]> {
    return this.#devices.list(query);
  }

  async get(id: string): Promise<Device> {
    const device = await this.#devices.get(id);
    if (device === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${id}`);
    return device;
  }

  async certificates(id: string): Promise<CertificateRecord[]> {
    await this.get(id);
    return this.#certificates.ofDevice(id);
  }

  async patch(id: string, patch: DevicePatchInput): Promise<Device> {
    const device = await this.get(id);
    if (device.status === 'decommissioned') throw new OutpostError('DEVICE_STATE_CONFLICT', `device ${id} was deleted`);
    const now = this.#now();
    const groupChanged = patch.group !== undefined && patch.group !== device.group;
    const tagsChanged = patch.tags !== undefined && !sameMap(patch.tags, device.tags);
    if (patch.group !== undefined) await this.#devices.ensureGroup(patch.group, now);
    await this.#devices.update(id, patch, now);
    if (groupChanged) this.#events.emit('group-changed', id, { group: patch.group });
    if (tagsChanged) this.#events.emit('tags-changed', id);
    return this.get(id);
  }

  listGroups(options: { limit: number; after?: string }): Promise<(Group & { devices: number })[]> {
    return this.#devices.listGroups(options);
  }

  /** The fleet in numbers: totals, by lifecycle state, by group and by firmware (each with its online count). */
  async summary(): Promise<FleetSummary> {
    const rows = await this.#devices.countByKind();
    const byGroup = new Map<string, { total: number; online: number }>();
    const byFirmware = new Map<string, { name: string | null; version: string | null; total: number; online: number }>();
    const byStatus: Record<string, number> = {};
    let total = 0;
    let online = 0;
    for (const r of rows) {
      total += r.devices;
      if (r.online) online += r.devices;
      byStatus[r.status] = (byStatus[r.status] ?? 0) + r.devices;
      const g = byGroup.get(r.group) ?? { total: 0, online: 0 };
      g.total += r.devices;
      if (r.online) g.online += r.devices;
      byGroup.set(r.group, g);
      const fwKey = r.firmwareName === null || r.firmwareVersion === null ? '' : `${r.firmwareName}@${r.firmwareVersion}`;
      const f = byFirmware.get(fwKey) ?? { name: fwKey === '' ? null : r.firmwareName, version: fwKey === '' ? null : r.firmwareVersion, total: 0, online: 0 };
      f.total += r.devices;
      if (r.online) f.online += r.devices;
      byFirmware.set(fwKey, f);
    }
    const byCount = <T extends { total: number }>(a: [string, T], b: [string, T]): number => b[1].total - a[1].total || a[0].localeCompare(b[0]);
    return {
      total,
      online,
      byStatus,
      byGroup: [...byGroup.entries()].sort(byCount).map(([name, c]) => ({ name, ...c })),
      byFirmware: [...byFirmware.entries()].sort(byCount).map(([, f]) => ({ firmware: f.name === null || f.version === null ? null : { name: f.name, version: f.version }, total: f.total, online: f.online })),
    };
  }

  putGroup(name: string, description: string | null): Promise<Group> {
    return this.#devices.putGroup(name, description, this.#now());
  }
}
