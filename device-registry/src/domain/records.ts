import type { CommandArgs, DesiredConfig, FirmwareInfo } from '@outpost/protocol';
import type { CommandOutcome, CommandState, DeviceLifecycle } from '@outpost/kernel/domain';

/** The registry's records as the services use them (stores map rows to these). */

export interface Device {
  readonly id: string;
  readonly status: DeviceLifecycle;
  readonly group: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly hardware: string | null;
  readonly agentVersion: string | null;
  readonly firmware: FirmwareInfo | null;
  readonly online: boolean;
  readonly lastSeen: number | null;
  /** The outbox figures of the device's latest DeviceStatus (null: none received yet). */
  readonly outbox?: DeviceOutbox | null;
  /** The enrollment token it enrolled with, if it still matters. */
  readonly enrolledWith: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What the agent's outbox held when it last said (DeviceStatus `outbox`), and when the platform heard it. */
export interface DeviceOutbox {
  readonly depth: number;
  readonly bytes: number;
  readonly dropped: number;
  readonly droppedSamples?: number;
  readonly refused: number;
  readonly maxBytes?: number;
  readonly at: number;
}

export interface CertificateRecord {
  readonly serial: string;
  readonly kind: 'device' | 'integration';
  readonly subject: string;
  readonly deviceId: string | null;
  readonly role: string | null;
  readonly fingerprint: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly revokedAt: number | null;
  readonly caId: string;
  readonly pem: string;
  readonly createdAt: number;
  /** The certificate this one was renewed from: revoking that one revokes this one too. */
  readonly renewedFrom?: string;
}

export type CaStatus = 'active' | 'previous' | 'retired';

export interface CaRecord {
  readonly id: string;
  readonly generation: number;
  readonly commonName: string;
  readonly certPem: string;
  readonly sealedKey: string;
  readonly fingerprint: string;
  readonly serial: string;
  readonly status: CaStatus;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly crlNumber: number;
}

export interface ServerCertRecord {
  readonly caId: string;
  readonly certPem: string;
  readonly sealedKey: string;
  readonly names: readonly string[];
  readonly serial: string;
  readonly notAfter: number;
  readonly issuedAt: number;
}

export interface Group {
  readonly name: string;
  readonly description: string | null;
  readonly createdAt: number;
}

export interface DesiredConfigRecord {
  readonly deviceId: string;
  readonly version: number;
  readonly config: DesiredConfig;
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface ReportedConfigRecord {
  readonly version: number;
  readonly applied: boolean;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly at: number;
}

export interface CommandRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly name: string;
  readonly args: CommandArgs;
  readonly state: CommandState;
  readonly result: CommandOutcome | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly updatedAt: number;
}

/** A queued or delivered command past its expiry reads as expired. */
export function commandStateAt(command: Pick<CommandRecord, 'state' | 'expiresAt'>, now: number): CommandState {
  if ((command.state === 'queued' || command.state === 'delivered') && now >= command.expiresAt) return 'expired';
  return command.state;
}
