import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  OutpostError,
  SIGNING_DOMAINS,
  canonicalBytes,
  canonicalJson,
  manifestSigningBytes,
  renewalSigningBytes,
  trustSetSigningBytes,
} from '../src/index.js';
import type { Manifest } from '../src/index.js';
import { VALID } from './fixtures/payloads.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The same value with its keys in reverse order at every level. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, child]) => [key, reversed(child)]));
}

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves out whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('is identical for objects with shuffled key order', () => {
    const full = VALID.OtaJob.full;
    expect(JSON.stringify(reversed(full))).not.toBe(JSON.stringify(full));
    expect(canonicalJson(reversed(full))).toBe(canonicalJson(full));
    expect(canonicalBytes(reversed(full))).toEqual(canonicalBytes(full));
  });

  it('sorts keys by UTF-16 code units like RFC 8785', () => {
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, a: 5, A: 6 })).toBe('{"\\r":2,"1":4,"A":6,"a":5,"€":1,"😀":3}');
  });

  it('writes numbers and strings as JSON.stringify does', () => {
    expect(canonicalJson([1e21, 0.1, -0, 1.5e-7, 'é"\\\n', '\ud800'])).toBe('[1e+21,0.1,0,1.5e-7,"é\\"\\\\\\n","\\ud800"]');
  });

  it('encodes as UTF-8', () => {
    expect([...canonicalBytes({ a: 'é' })]).toEqual([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x7d]);
  });

  it('leaves out properties whose value is undefined', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it.each([
    ['NaN', { a: Number.NaN }, 'value.a is NaN, not a finite number'],
    ['Infinity', [Number.POSITIVE_INFINITY], 'value[0] is Infinity, not a finite number'],
    ['undefined in an array', [1, undefined], 'value[1] is undefined'],
    ['a function', { f: () => 1 }, 'value.f is a function'],
    ['a bigint', { n: 1n }, 'value.n is a bigint'],
    ['a Date', { d: new Date(0) }, 'value.d is not a plain object'],
    ['a Map', new Map(), 'value is not a plain object'],
  ])('refuses %s', (_case, value, message) => {
    expect(() => canonicalJson(value)).toThrow(new OutpostError('VALIDATION_FAILED', `cannot make canonical JSON: ${message}`));
  });

  it('refuses nesting deeper than 64 levels, and cycles', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nested deeper than 64 levels/);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => canonicalJson(cycle)).toThrow(OutpostError);
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: 1 });
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });
});

describe('signing bytes', () => {
  it('prefixes the manifest with its domain and is stable under key order', () => {
    const manifest = VALID.Manifest.full;
    const bytes = manifestSigningBytes(manifest);
    expect(text(bytes)).toBe(`outpost-manifest-v1\n${canonicalJson(manifest)}`);
    expect(manifestSigningBytes(reversed(manifest) as Manifest)).toEqual(bytes);
  });

  it('signs the trust set without its signatures', () => {
    const set = VALID.TrustSet.full;
    const bytes = text(trustSetSigningBytes(set));
    expect(bytes).toBe(`${SIGNING_DOMAINS.trustSet}{"keys":[{"alg":"ed25519","keyId":"ops-2024","publicKey":"${set.keys[0]?.publicKey ?? ''}"}],"v":1,"version":3}`);
    expect(bytes).not.toContain('signatures');
    expect(trustSetSigningBytes({ ...set, signatures: [] })).toEqual(trustSetSigningBytes(set));
    const { signatures: _signatures, ...unsigned } = set;
    expect(trustSetSigningBytes(unsigned)).toEqual(trustSetSigningBytes(set));
  });

  it('signs the renewal request without sig', () => {
    const request = VALID.RenewalRequest.minimal;
    const bytes = text(renewalSigningBytes(request));
    expect(bytes.startsWith('outpost-renewal-v1\n{"csr":')).toBe(true);
    expect(bytes).not.toContain('"sig"');
    expect(renewalSigningBytes({ ...request, sig: 'AAAA' })).toEqual(renewalSigningBytes(request));
  });

  it('separates domains, so one signature never verifies as another kind of document', () => {
    const same = { v: 1 };
    const forms = new Set([
      text(manifestSigningBytes(same as unknown as Manifest)),
      text(trustSetSigningBytes(same as unknown as Parameters<typeof trustSetSigningBytes>[0])),
      text(renewalSigningBytes(same as unknown as Parameters<typeof renewalSigningBytes>[0])),
    ]);
    expect(forms.size).toBe(3);
  });

  it('lets an Ed25519 signature made over one key order verify over another', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const manifest = VALID.Manifest.full;
    const signature = sign(null, manifestSigningBytes(manifest), privateKey);
    expect(verify(null, manifestSigningBytes(reversed(manifest) as Manifest), publicKey, signature)).toBe(true);
    expect(verify(null, manifestSigningBytes({ ...manifest, size: manifest.size + 1 }), publicKey, signature)).toBe(false);
  });
});
