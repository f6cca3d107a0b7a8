import type { Observable } from 'rxjs';
import type { Command, DesiredConfig, FirmwareInfo, OutboxStats, RegistryEvent, ReportedConfig } from '@outpost/protocol';
import type { CommandOutcome, CommandState, DeviceLifecycle } from '../domain/index.js';

// The value types live in the domain vocabulary (domain folders import no ports).
export type { CommandOutcome, CommandState, DeviceLifecycle } from '../domain/index.js';

/** What the broker needs to know about a device to let it in and route its data. */
export interface DeviceSummary {
  readonly id: string;
  readonly status: DeviceLifecycle;
  readonly group: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Why `checkCertificate` refuses a (device, serial) pair; the broker maps it to a CONNACK code. */
export type CertificateRefusal =
  | 'DEVICE_UNKNOWN'
  | 'DEVICE_SUSPENDED'
  | 'DEVICE_REVOKED'
  | 'CERT_UNKNOWN'
  | 'CERT_REVOKED'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID';

export type CertificateCheck =
  | { readonly ok: true; readonly device: DeviceSummary }
  | { readonly ok: false; readonly code: CertificateRefusal; readonly reason: string };

/** What a device last said about itself (from its retained `status` topic). */
export interface DeviceStatusUpdate {
  readonly online: boolean;
  /** When the platform saw it (epoch ms); for an offline last will, the broker's time. */
  readonly at: number;
  readonly agentVersion?: string;
  readonly firmware?: FirmwareInfo;
  /** The agent's outbox figures (DeviceStatus `outbox`): the latest are kept per device. */
  readonly outbox?: OutboxStats;
}

/**
 * The registry as other parts see it (provided as `ports.registry`). The broker checks
 * every connection with `checkCertificate` and drops sessions on the `events` of SPEC
 * "Identity"; it reports presence with `recordStatus`.
 */
export interface RegistryPort {
  lookup(deviceId: string): Promise<DeviceSummary | undefined>;
  /** True when a certificate with this serial (hex, any case) was revoked. */
  isSerialRevoked(serial: string): Promise<boolean>;
  /** The pair check of SPEC "Identity": device active, certificate its own, unrevoked and in date. */
  checkCertificate(deviceId: string, serial: string): Promise<CertificateCheck>;
  /** Every registry change; hot, never completes before the part closes. */
  readonly events: Observable<RegistryEvent>;
  /** Marks a device seen now (any traffic) without changing its online state. */
  markSeen(deviceId: string, at: number): Promise<void>;
  recordStatus(deviceId: string, status: DeviceStatusUpdate): Promise<void>;
  /**
   * Ids of the devices (not deleted) in `group` and carrying every tag of `tags`, in id order;
   * no filter = every device (every filter narrows). For fleet queries (e.g. the dashboard's per-group telemetry).
   */
  deviceIds(filter: { readonly group?: string; readonly tags?: Readonly<Record<string, string>> }): Promise<string[]>;
  /** True when the group exists (created with `PUT /groups/{name}` or by a device or token first using it). */
  groupExists(name: string): Promise<boolean>;
  /** Desired config and commands, for delivery over MQTT. */
  readonly configs: DeviceConfigPort;
  readonly commands: CommandPort;
}

export interface DeviceConfigPort {
  /** The latest desired config of a device, as published on `devices/{id}/config/desired`. */
  desiredConfig(deviceId: string): Promise<DesiredConfig | undefined>;
  /** What the device reported applying (`devices/{id}/config/reported`). */
  recordReported(deviceId: string, reported: ReportedConfig): Promise<void>;
}

export interface CommandPort {
  /** Queued, unexpired commands of a device, oldest first, as Command payloads. */
  pendingCommands(deviceId: string): Promise<Command[]>;
  /**
   * Moves a command on: `delivered` once published, `succeeded`/`failed` with the device's
   * CommandResult. Returns false when the command is unknown, belongs to another device, or is
   * already final — so a device can only ever settle its own commands.
   */
  markCommand(deviceId: string, id: string, state: Exclude<CommandState, 'queued'>, result?: CommandOutcome): Promise<boolean>;
}
