import { Type, type Static } from 'typebox';
import type { EnrollmentToken } from '../domain/enrollment-token.js';
import { tokenState } from '../domain/enrollment-token.js';
import type { CertificateRecord, CommandRecord, Device } from '../domain/records.js';
import { certificateValidity } from '../domain/renewal-rules.js';
import { EpochMs, nullable } from '@outpost/kernel';
import { CommandArgsSchema, GroupNameSchema, MetadataMap, TagMap } from './schemas.js';

/** What the API answers for each record, and the functions that build those answers. */

export const CertificateView = Type.Object({
  serial: Type.String({ description: 'lower-case hex' }),
  deviceId: nullable(Type.String()),
  subject: Type.String({ description: 'the CN' }),
  kind: Type.Enum(['device', 'integration']),
  fingerprint: Type.String({ description: 'sha256:<hex of DER>' }),
  notBefore: EpochMs,
  notAfter: EpochMs,
  revokedAt: nullable(EpochMs),
  status: Type.Enum(['valid', 'expired', 'not-yet-valid', 'revoked']),
  caId: Type.String(),
  pem: Type.Optional(Type.String()),
});
export type CertificateView = Static<typeof CertificateView>;

export const FirmwareView = Type.Object({ name: Type.String(), version: Type.String(), slot: Type.Enum(['a', 'b']) });

export const DeviceOutboxView = Type.Object(
  {
    depth: Type.Integer({ description: 'batches waiting to be sent' }),
    bytes: Type.Integer({ description: 'bytes of the outbox on disk' }),
    maxBytes: Type.Optional(Type.Integer({ description: "the outbox's byte bound (agent.json outbox.maxBytes)" })),
    dropped: Type.Integer({ description: 'batches dropped because the outbox was full (oldest first)' }),
    droppedSamples: Type.Optional(Type.Integer({ description: 'samples in the dropped batches' })),
    refused: Type.Integer({ description: 'batches the platform refused for good' }),
    at: EpochMs,
  },
  { description: "the agent's outbox as its latest DeviceStatus said; older agents send no maxBytes/droppedSamples" },
);

export const DeviceView = Type.Object({
  id: Type.String(),
  status: Type.Enum(['active', 'suspended', 'revoked', 'decommissioned'], { description: 'lifecycle state' }),
  online: Type.Boolean(),
  lastSeen: nullable(EpochMs),
  group: Type.String(),
  tags: TagMap,
  metadata: MetadataMap,
  hardware: nullable(Type.String()),
  agentVersion: nullable(Type.String()),
  firmware: nullable(FirmwareView),
  outbox: Type.Optional(nullable(DeviceOutboxView)),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  certificates: Type.Optional(Type.Array(CertificateView)),
  certificateExpiresAt: Type.Optional(nullable(EpochMs)),
});
export type DeviceView = Static<typeof DeviceView>;

export const TokenView = Type.Object({
  id: Type.String(),
  group: GroupNameSchema,
  tags: TagMap,
  deviceIdPrefix: nullable(Type.String()),
  maxUses: Type.Integer(),
  uses: Type.Integer(),
  state: Type.Enum(['active', 'expired', 'used-up', 'revoked']),
  expiresAt: EpochMs,
  revokedAt: nullable(EpochMs),
  createdBy: Type.String(),
  createdAt: EpochMs,
});
export type TokenView = Static<typeof TokenView>;

export const CommandView = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  name: Type.String(),
  args: CommandArgsSchema,
  state: Type.Enum(['queued', 'delivered', 'succeeded', 'failed', 'expired']),
  result: nullable(
    Type.Object({
      ok: Type.Boolean(),
      output: Type.Optional(Type.String()),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
      at: EpochMs,
    }),
  ),
  createdBy: Type.String(),
  createdAt: EpochMs,
  expiresAt: EpochMs,
  updatedAt: EpochMs,
});
export type CommandView = Static<typeof CommandView>;

export function certificateView(cert: CertificateRecord, now: number, withPem: boolean): CertificateView {
  return {
    serial: cert.serial,
    deviceId: cert.deviceId,
    subject: cert.subject,
    kind: cert.kind,
    fingerprint: cert.fingerprint,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    revokedAt: cert.revokedAt,
    status: certificateValidity(cert, now),
    caId: cert.caId,
    ...(withPem ? { pem: cert.pem } : {}),
  };
}

export function deviceView(device: Device, certificates?: { list: readonly CertificateRecord[]; now: number }): DeviceView {
  const view: DeviceView = {
    id: device.id,
    status: device.status,
    online: device.online,
    lastSeen: device.lastSeen,
    group: device.group,
    tags: { ...device.tags },
    metadata: { ...device.metadata },
    hardware: device.hardware,
    agentVersion: device.agentVersion,
    firmware: device.firmware === null ? null : { ...device.firmware },
    outbox: device.outbox === undefined || device.outbox === null ? null : { ...device.outbox },
    createdAt: device.createdAt,
    updatedAt: device.updatedAt,
  };
  if (certificates === undefined) return view;
  const { list, now } = certificates;
  const valid = list.filter((c) => certificateValidity(c, now) === 'valid');
  view.certificates = list.map((c) => certificateView(c, now, false));
  view.certificateExpiresAt = valid.length === 0 ? null : Math.max(...valid.map((c) => c.notAfter));
  return view;
}

export function tokenView(token: EnrollmentToken, now: number): TokenView {
  return {
    id: token.id,
    group: token.group,
    tags: { ...token.tags },
    deviceIdPrefix: token.deviceIdPrefix,
    maxUses: token.maxUses,
    uses: token.uses,
    state: tokenState(token, now),
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
    createdBy: token.createdBy,
    createdAt: token.createdAt,
  };
}

export function commandView(command: CommandRecord): CommandView {
  return {
    id: command.id,
    deviceId: command.deviceId,
    name: command.name,
    args: { ...command.args },
    state: command.state,
    result: command.result === null ? null : { ...command.result },
    createdBy: command.createdBy,
    createdAt: command.createdAt,
    expiresAt: command.expiresAt,
    updatedAt: command.updatedAt,
  };
}
