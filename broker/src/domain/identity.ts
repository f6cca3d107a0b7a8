/**
 * Who is on the other end of a TLS connection, from its verified client certificate
 * (SPEC "Identity"): a device (CN = device id) or an integration (OU = `integration`,
 * issued by `outpost credentials create --role integration`). Pure: the adapter reads the
 * certificate, this decides.
 */
import { isDeviceId } from '@outpost/protocol';
import { canonicalSerial } from './serial.js';

/** The organizations the registry writes into its client certificates. */
export const DEVICE_ORGANIZATION = 'Outpost device';
export const CLIENT_ORGANIZATION = 'Outpost client';
export const INTEGRATION_ROLE = 'integration';

/** The fields of a verified peer certificate the broker looks at (subject values may repeat). */
export interface PeerCertificate {
  readonly subject: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Hex, any case. */
  readonly serialNumber: string;
  /** The certificate's notAfter (epoch ms), when known: the session ends then. */
  readonly notAfter?: number;
}

/** `notAfter` (epoch ms): when the certificate expires, if the adapter could read it. */
export type Identity =
  | { readonly kind: 'device'; readonly deviceId: string; readonly serial: string; readonly notAfter?: number }
  | { readonly kind: 'integration'; readonly name: string; readonly role: string; readonly serial: string; readonly notAfter?: number };

export type IdentityRefusal = 'NO_CERTIFICATE' | 'IDENTITY_UNKNOWN';

export type IdentityResult =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly code: IdentityRefusal; readonly reason: string };

/** The single value of a subject attribute; undefined when absent or repeated (ambiguous). */
function single(value: string | readonly string[] | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== undefined && value.length === 1) return value[0];
  return undefined;
}

export function identityOf(peer: PeerCertificate | undefined): IdentityResult {
  if (peer === undefined || peer.serialNumber === '') {
    return { ok: false, code: 'NO_CERTIFICATE', reason: 'no client certificate was presented' };
  }
  const cn = single(peer.subject['CN']);
  const o = single(peer.subject['O']);
  const ou = single(peer.subject['OU']);
  const serial = canonicalSerial(peer.serialNumber);
  const expiry = peer.notAfter === undefined || !Number.isFinite(peer.notAfter) ? {} : { notAfter: peer.notAfter };
  if (cn === undefined) {
    return { ok: false, code: 'IDENTITY_UNKNOWN', reason: `certificate ${serial} has no single CN` };
  }
  if (o === CLIENT_ORGANIZATION && ou === INTEGRATION_ROLE) {
    return { ok: true, identity: { kind: 'integration', name: cn, role: ou, serial, ...expiry } };
  }
  if (o === DEVICE_ORGANIZATION && ou === undefined && isDeviceId(cn)) {
    return { ok: true, identity: { kind: 'device', deviceId: cn, serial, ...expiry } };
  }
  return {
    ok: false,
    code: 'IDENTITY_UNKNOWN',
    reason: `certificate ${serial} (CN ${JSON.stringify(cn).slice(0, 80)}) is neither a device nor an integration certificate`,
  };
}

/** A short label for logs and metrics. */
export function identityLabel(identity: Identity): string {
  return identity.kind === 'device' ? identity.deviceId : `integration:${identity.name}`;
}

/** The identity as log fields: `deviceId`, or `integration` (its name). */
export function identityFields(identity: Identity): { deviceId: string } | { integration: string } {
  return identity.kind === 'device' ? { deviceId: identity.deviceId } : { integration: identity.name };
}
