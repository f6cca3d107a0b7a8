import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { trustSetSigningBytes } from '@outpost/protocol';
import type { TrustSet } from '@outpost/protocol';
import { decideTrustSet } from '../../src/runtime/trust-rules.js';

function key(keyId: string) {
  const pair = generateKeyPairSync('ed25519');
  return {
    keyId,
    entry: { keyId, alg: 'ed25519' as const, publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') },
    sign: (set: Omit<TrustSet, 'signatures'>) => ({ keyId, sig: sign(null, trustSetSigningBytes(set), pair.privateKey).toString('base64') }),
  };
}

const a = key('key-a');
const b = key('key-b');
const stranger = key('key-a'); // same id, different key: an impostor

function set(version: number, keys: (typeof a)[], signers: (typeof a)[]): TrustSet {
  const body = { v: 1 as const, version, keys: keys.map((k) => k.entry) };
  return { ...body, signatures: signers.map((s) => s.sign(body)) };
}

const EMPTY: TrustSet = { v: 1, version: 0, keys: [], signatures: [] };

describe('which TrustSet the agent keeps', () => {
  it.each([
    ['the first set on first contact, signed or not', undefined, set(1, [a], []), 'first-contact'],
    ['any newer set while the current one holds no key', EMPTY, set(1, [a], []), 'current-empty'],
    ['a newer set signed by a trusted key', set(1, [a], []), set(2, [a, b], [a]), 'signed'],
    ['a newer set signed by the trusted key among others', set(1, [a], []), set(2, [b], [b, a]), 'signed'],
  ] as const)('accepts %s', (_name, current, incoming, why) => {
    expect(decideTrustSet(current, incoming)).toMatchObject({ accept: true, why });
  });

  it.each([
    ['a set signed by an unknown key', set(1, [a], []), set(2, [b], [b]), 'TRUST_SIGNATURE_INVALID', /not signed by a trusted key/],
    ['an unsigned set once keys are trusted', set(1, [a], []), set(2, [a, b], []), 'TRUST_SIGNATURE_INVALID', /signed by nobody/],
    ['a set signed by an impostor using a trusted key id', set(1, [a], []), set(2, [b], [stranger]), 'TRUST_SIGNATURE_INVALID', /does not verify/],
    ['an older version, even when validly signed', set(3, [a], []), set(2, [a], [a]), 'TRUST_NOT_NEWER', /not newer/],
  ] as const)('refuses %s', (_name, current, incoming, code, reason) => {
    const decision = decideTrustSet(current, incoming);
    expect(decision).toMatchObject({ accept: false, same: false, code });
    expect(decision.accept ? '' : decision.reason).toMatch(reason);
  });

  it('refuses a set whose content was changed after signing', () => {
    const signed = set(2, [a], [a]);
    const tampered = { ...signed, keys: [...signed.keys, b.entry] };
    expect(decideTrustSet(set(1, [a], []), tampered)).toMatchObject({ accept: false, code: 'TRUST_SIGNATURE_INVALID' });
  });

  it('treats the held set delivered again (retained, on reconnect) as nothing new', () => {
    const held = set(2, [a], [a]);
    expect(decideTrustSet(held, structuredClone(held))).toMatchObject({ accept: false, same: true });
  });
});
