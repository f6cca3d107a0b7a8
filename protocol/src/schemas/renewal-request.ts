/**
 * The grace-period renewal request (`POST /device/v1/renew` without a valid certificate):
 * `sig` is by the device's current key over `renewalSigningBytes` (canonical.ts).
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Base64, DeviceId, EpochMs, V1 } from './common.js';

/** A PEM certificate signing request. */
export const CSR_PATTERN = '^-----BEGIN CERTIFICATE REQUEST-----[\\s\\S]+-----END CERTIFICATE REQUEST-----\\s*$';

export const RenewalRequest = Type.Object(
  {
    v: V1,
    deviceId: DeviceId,
    /** The new key's certificate signing request, PEM. */
    csr: Type.String({ pattern: CSR_PATTERN, maxLength: 8192, description: 'a PEM certificate request' }),
    ts: EpochMs,
    /** Base64 of the RSA signature (SHA-256) by the device's current key. */
    sig: Base64,
  },
  { additionalProperties: false },
);
export type RenewalRequest = Static<typeof RenewalRequest>;
