/**
 * Which registry events end a live session (SPEC "Identity"): `suspended`, `revoked` and
 * `deleted` end the device's session; `cert-revoked` ends it only when the session runs on
 * that serial (the renewed certificate keeps working). Pure.
 */
import type { RegistryEvent } from '@outpost/protocol';
import { canonicalSerial } from './serial.js';

export interface LiveSessionRef {
  readonly deviceId: string;
  /** Canonical serial of the certificate the session authenticated with. */
  readonly serial: string;
}

export function dropReason(event: RegistryEvent, session: LiveSessionRef): string | undefined {
  if (event.deviceId !== session.deviceId) return undefined;
  switch (event.type) {
    case 'suspended':
    case 'revoked':
    case 'deleted':
      return `device ${event.type}`;
    case 'cert-revoked':
      return event.serial !== undefined && canonicalSerial(event.serial) === session.serial ? `certificate ${session.serial} revoked` : undefined;
    default:
      return undefined;
  }
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
