/**
 * TrustSet (`devices/{id}/trust`, retained): the OTA signing keys a device trusts. Accepted on
 * first contact; a later version must be signed by a key of the current set over
 * `trustSetSigningBytes` (canonical.ts).
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Base64, Count, Id, V1 } from './common.js';

export const TrustedKey = Type.Object(
  {
    keyId: Id,
    alg: Type.Literal('ed25519'),
    /** Base64 of the SPKI DER encoding of the public key. */
    publicKey: Base64,
  },
  { additionalProperties: false },
);
export type TrustedKey = Static<typeof TrustedKey>;

/** A detached signature: base64 of the raw signature bytes, and the key that made it. */
export const Signature = Type.Object({ keyId: Id, sig: Base64 }, { additionalProperties: false });
export type Signature = Static<typeof Signature>;

export const TrustSet = Type.Object(
  {
    v: V1,
    version: Count,
    keys: Type.Array(TrustedKey, { maxItems: 32 }),
    signatures: Type.Array(Signature, { maxItems: 32 }),
  },
  { additionalProperties: false },
);
export type TrustSet = Static<typeof TrustSet>;
