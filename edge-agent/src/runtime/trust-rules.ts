/**
 * Which TrustSet the agent keeps (SPEC "TrustSet"): the first one is accepted on first contact
 * (it came over mTLS from the platform), as is any set while the current one holds no key.
 * Later versions need a valid Ed25519 signature, over protocol's canonical TrustSet bytes, by a
 * key of the current set. Older or equal versions are never taken.
 */
import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson, trustSetSigningBytes } from '@outpost/protocol';
import type { TrustSet } from '@outpost/protocol';

export type TrustDecision =
  | { readonly accept: true; readonly why: 'first-contact' | 'current-empty' | 'signed'; readonly keyId?: string }
  | { readonly accept: false; readonly same: boolean; readonly code: string; readonly reason: string };

function verifies(publicKeyB64: string, data: Uint8Array, sigB64: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, data, key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}

export function decideTrustSet(current: TrustSet | undefined, incoming: TrustSet): TrustDecision {
  if (current === undefined) return { accept: true, why: 'first-contact' };
  if (canonicalJson(current) === canonicalJson(incoming)) {
    return { accept: false, same: true, code: 'TRUST_UNCHANGED', reason: `trust set version ${incoming.version} is the one held` };
  }
  if (incoming.version <= current.version) {
    return { accept: false, same: false, code: 'TRUST_NOT_NEWER', reason: `trust set version ${incoming.version} is not newer than the held version ${current.version}` };
  }
  if (current.keys.length === 0) return { accept: true, why: 'current-empty' };
  const data = trustSetSigningBytes(incoming);
  for (const signature of incoming.signatures) {
    const key = current.keys.find((k) => k.keyId === signature.keyId);
    if (key !== undefined && verifies(key.publicKey, data, signature.sig)) return { accept: true, why: 'signed', keyId: key.keyId };
  }
  const known = incoming.signatures.filter((s) => current.keys.some((k) => k.keyId === s.keyId)).map((s) => s.keyId);
  const reason =
    known.length === 0
      ? `trust set version ${incoming.version} is not signed by a trusted key (signed by ${incoming.signatures.map((s) => s.keyId).join(', ') || 'nobody'}; trusted: ${current.keys.map((k) => k.keyId).join(', ')})`
      : `trust set version ${incoming.version}: the signature of ${known.join(', ')} does not verify`;
  return { accept: false, same: false, code: 'TRUST_SIGNATURE_INVALID', reason };
}
