/** RegistryEvent: the device registry's event stream (SPEC "Identity"). */
import Type from 'typebox';
import type { Static } from 'typebox';
import { DeviceId, EpochMs, GroupName, V1 } from './common.js';

export const RegistryEventType = Type.Enum([
  'enrolled',
  'renewed',
  'suspended',
  'resumed',
  'revoked',
  'cert-revoked',
  'deleted',
  'group-changed',
  'tags-changed',
  'config-changed',
  'command-created',
]);
export type RegistryEventType = Static<typeof RegistryEventType>;

/** A certificate serial number, hex. */
export const CertSerial = Type.String({ pattern: '^[0-9A-Fa-f]{1,64}$', maxLength: 64 });

export const RegistryEvent = Type.Object(
  {
    v: V1,
    type: RegistryEventType,
    /** Absent only on `cert-revoked` of a certificate that belongs to no device (an integration credential). */
    deviceId: Type.Optional(DeviceId),
    /** The certificate concerned (`enrolled`, `renewed`; required for `cert-revoked`). */
    serial: Type.Optional(CertSerial),
    /** The device's group (`enrolled`, `group-changed`). */
    group: Type.Optional(GroupName),
    at: EpochMs,
  },
  { additionalProperties: false },
);
export type RegistryEvent = Static<typeof RegistryEvent>;
