import { OutpostError, validatePayload, type DesiredConfig, type Limits, type ReportedConfig } from '@outpost/protocol';
import type { ConfigStore } from '../adapters/config-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import { acceptsInstructions } from '../domain/lifecycle.js';
import type { DesiredConfigRecord, ReportedConfigRecord } from '../domain/records.js';
import type { RegistryEvents } from './registry-events.js';

/**
 * Desired config per device, versioned: every PUT stores version n+1 (the body may omit
 * `v`, `version` and `limits`; the platform's limits fill in). A body that names a `version`
 * must name exactly the next one, so two operators cannot overwrite each other unknowingly.
 * The whole result is checked as protocol's DesiredConfig.
 */
export class ConfigService {
  readonly #configs: ConfigStore;
  readonly #devices: DeviceStore;
  readonly #events: RegistryEvents;
  readonly #limits: Limits;
  readonly #now: () => number;

  constructor(deps: { configs: ConfigStore; devices: DeviceStore; events: RegistryEvents; limits: Limits; now: () => number }) {
    this.#configs = deps.configs;
    this.#devices = deps.devices;
    this.#events = deps.events;
    this.#limits = deps.limits;
    this.#now = deps.now;
  }

  async get(deviceId: string): Promise<{ desired: DesiredConfigRecord; reported: ReportedConfigRecord | undefined }> {
    await this.#device(deviceId);
    const desired = await this.#configs.latest(deviceId);
    if (desired === undefined) throw new OutpostError('CONFIG_NOT_FOUND', `device ${deviceId} has no desired config yet (PUT one)`);
    return { desired, reported: await this.#configs.reported(deviceId) };
  }

  async put(deviceId: string, body: Readonly<Record<string, unknown>>, createdBy: string): Promise<DesiredConfigRecord> {
    const device = await this.#device(deviceId);
    if (!acceptsInstructions(device.status)) throw new OutpostError('DEVICE_STATE_CONFLICT', `device ${deviceId} is ${device.status}: it takes no config`);
    const latest = await this.#configs.latest(deviceId);
    const version = (latest?.version ?? 0) + 1;
    if (body['version'] !== undefined && body['version'] !== version) {
      throw new OutpostError('CONFIG_VERSION_CONFLICT', `the body names version ${String(body['version'])} but the next version is ${version}: someone changed it meanwhile`, {
        details: { expected: version },
      });
    }
    const candidate = { ...body, v: body['v'] ?? 1, version, limits: body['limits'] ?? this.#limits };
    const checked = validatePayload('DesiredConfig', candidate);
    if (!checked.ok) throw new OutpostError('CONFIG_INVALID', `invalid config: ${checked.reason}`, { details: { path: checked.path ?? '' } });
    const record: DesiredConfigRecord = { deviceId, version, config: checked.value, createdBy, createdAt: this.#now() };
    try {
      await this.#configs.insert(record);
    } catch (cause) {
      throw new OutpostError('CONFIG_VERSION_CONFLICT', `version ${version} of ${deviceId}'s config was just stored by someone else`, { cause });
    }
    this.#events.emit('config-changed', deviceId);
    return record;
  }

  async desired(deviceId: string): Promise<DesiredConfig | undefined> {
    return (await this.#configs.latest(deviceId))?.config;
  }

  async recordReported(deviceId: string, reported: ReportedConfig): Promise<void> {
    if ((await this.#devices.get(deviceId)) === undefined) return;
    await this.#configs.saveReported(deviceId, { version: reported.version, applied: reported.applied, error: reported.error ?? null, at: reported.at });
  }

  async #device(deviceId: string) {
    const device = await this.#devices.get(deviceId);
    if (device === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
    return device;
  }
}
