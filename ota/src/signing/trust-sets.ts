/**
 * TrustSet building, signing and the successor rule (SPEC "TrustSet"): version n+1 must be
 * signed by a key of version n's set; the first set (over an empty or absent one) is taken as
 * it is. Pure: no I/O, no clock, so nothing here depends on a device's or server's time.
 */
import { OutpostError, trustSetSigningBytes, validatePayload, type TrustSet, type TrustedKey } from '@outpost/protocol';
import { importPublicKey, signBytes, verifyBytes, type PublicSigningKey, type SigningKey } from './signing-keys.js';

/** The empty set a platform starts with (version 0, nothing trusted). */
export const EMPTY_TRUST_SET: TrustSet = Object.freeze({ v: 1, version: 0, keys: [], signatures: [] }) as TrustSet;

/** An unsigned set of `keys` at `version`; sign it with `signTrustSet`. */
export function buildTrustSet(version: number, keys: readonly PublicSigningKey[]): TrustSet {
  return { v: 1, version, keys: keys.map((k) => ({ keyId: k.keyId, alg: k.alg, publicKey: k.publicKey })), signatures: [] };
}

/** `set` with a signature by each of `signers` added (over the set without its signatures). */
export function signTrustSet(set: TrustSet, signers: readonly SigningKey[]): TrustSet {
  const bytes = trustSetSigningBytes(set);
  const others = set.signatures.filter((s) => !signers.some((k) => k.keyId === s.keyId));
  return { ...set, signatures: [...others, ...signers.map((k) => ({ keyId: k.keyId, sig: signBytes(k, bytes) }))] };
}

/** A TrustSet from untrusted input: the schema, well-formed Ed25519 keys with their derived ids, no duplicates. */
export function checkTrustSet(value: unknown): TrustSet {
  const decoded = validatePayload('TrustSet', value);
  if (!decoded.ok) throw new OutpostError('OTA_TRUST_SET_INVALID', `the trust set is invalid: ${decoded.reason}`);
  const set = decoded.value;
  const seen = new Set<string>();
  for (const key of set.keys) {
    if (seen.has(key.keyId)) throw new OutpostError('OTA_TRUST_SET_INVALID', `key ${key.keyId} is listed twice`);
    seen.add(key.keyId);
    importPublicKey(key);
  }
  return set;
}

/** The keyIds among `signers` whose signature over `set` verifies. */
export function validSigners(set: TrustSet, signers: readonly TrustedKey[]): string[] {
  const bytes = trustSetSigningBytes(set);
  const valid: string[] = [];
  for (const signature of set.signatures) {
    const key = signers.find((k) => k.keyId === signature.keyId);
    if (key !== undefined && verifyBytes(importPublicKey(key), bytes, signature.sig)) valid.push(key.keyId);
  }
  return valid;
}

/**
 * Checks that `next` may replace `current`: version current+1, and (unless current holds no
 * key) signed by at least one key of `current`. Throws OTA_TRUST_VERSION_CONFLICT or
 * OTA_TRUST_SIGNATURE_INVALID.
 */
export function checkSuccessor(current: TrustSet, next: TrustSet): void {
  if (next.version !== current.version + 1) {
    throw new OutpostError('OTA_TRUST_VERSION_CONFLICT', `the trust set must have version ${current.version + 1} (the current set is version ${current.version}); got ${next.version}`, {
      details: { currentVersion: current.version },
    });
  }
  if (current.keys.length === 0) return;
  if (next.signatures.length === 0) throw new OutpostError('OTA_TRUST_SIGNATURE_INVALID', `the trust set is unsigned: version ${next.version} must be signed by a key of version ${current.version} (${current.keys.map((k) => k.keyId).join(', ')})`);
  if (validSigners(next, current.keys).length === 0) {
    const known = next.signatures.some((s) => current.keys.some((k) => k.keyId === s.keyId));
    throw new OutpostError(
      'OTA_TRUST_SIGNATURE_INVALID',
      known
        ? `no signature of the trust set verifies: sign version ${next.version} with a key of version ${current.version}`
        : `the trust set is signed by none of the current keys (${current.keys.map((k) => k.keyId).join(', ')})`,
    );
  }
}
