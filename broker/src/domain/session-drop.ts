/**
 * Which registry events end a live session (SPEC "Identity"): `suspended`, `revoked` and
 * `deleted` end the device's session; `cert-revoked` ends a session only when it runs on
 * that serial (the renewed certificate keeps working) — a device's or an integration's, as
 * serials are unique across the platform CA. Each drop carries a code, the `reason` label of
 * `outpost_mqtt_disconnects_total`. Pure.
 */
import type { RegistryEvent } from '@outpost/protocol';
import { canonicalSerial } from './serial.js';

export interface LiveSessionRef {
  readonly deviceId: string;
  /** Canonical serial of the certificate the session authenticated with. */
  readonly serial: string;
}

/** Why the broker ended a session (the `reason` label of the disconnect counter). */
export type DropCode = 'DEVICE_SUSPENDED' | 'DEVICE_REVOKED' | 'DEVICE_DELETED' | 'CERT_REVOKED' | 'CERT_EXPIRED';

export interface SessionDrop {
  readonly code: DropCode;
  readonly reason: string;
}

const DEVICE_DROPS = {
  suspended: 'DEVICE_SUSPENDED',
  revoked: 'DEVICE_REVOKED',
  deleted: 'DEVICE_DELETED',
} as const satisfies Partial<Record<RegistryEvent['type'], DropCode>>;

/** The drop of a device session by `event`, if the event ends it. */
export function dropOf(event: RegistryEvent, session: LiveSessionRef): SessionDrop | undefined {
  if (event.deviceId !== session.deviceId) return undefined;
  if (event.type === 'suspended' || event.type === 'revoked' || event.type === 'deleted') return { code: DEVICE_DROPS[event.type], reason: `device ${event.type}` };
  return serialDrop(event, session.serial);
}

/** The drop of a session on certificate `serial` (canonical) by a `cert-revoked` of that serial. */
export function serialDrop(event: RegistryEvent, serial: string): SessionDrop | undefined {
  if (event.type !== 'cert-revoked' || event.serial === undefined || canonicalSerial(event.serial) !== serial) return undefined;
  return { code: 'CERT_REVOKED', reason: `certificate ${serial} revoked` };
}

/** The drop of a session whose certificate's notAfter has passed. */
export function expiryDrop(serial: string, notAfter: number): SessionDrop {
  return { code: 'CERT_EXPIRED', reason: `certificate ${serial} expired at ${new Date(notAfter).toISOString()}` };
}

/** Events after which a cached certificate check of the device may be stale. */
export function invalidatesIdentity(event: RegistryEvent): boolean {
  switch (event.type) {
    case 'enrolled':
    case 'renewed':
    case 'suspended':
    case 'resumed':
    case 'revoked':
    case 'cert-revoked':
    case 'deleted':
      return true;
    default:
      return false;
  }
}
