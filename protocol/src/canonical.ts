/**
 * Canonical JSON and the signing bytes of SPEC: Manifest and TrustSet (OTA), and the
 * grace-period renewal request. Canonical JSON is RFC 8785 (JCS) for the values payloads
 * hold: object keys sorted by UTF-16 code units at every level, no whitespace, numbers and
 * strings as ECMAScript's JSON.stringify writes them, UTF-8. Properties whose value is
 * `undefined` are left out (as JSON.stringify does); anything JSON cannot carry is refused.
 * Each signing form starts with a domain-separation line, so a signature over one kind of
 * document can never be replayed as another.
 */
import { OutpostError } from './errors.js';
import type { Manifest } from './schemas/manifest.js';
import type { RenewalRequest } from './schemas/renewal-request.js';
import type { TrustSet } from './schemas/trust-set.js';

/** Deepest nesting canonicalJson accepts; payloads nest far less. */
export const MAX_CANONICAL_DEPTH = 64;

export const SIGNING_DOMAINS = Object.freeze({
  manifest: 'outpost-manifest-v1\n',
  trustSet: 'outpost-trustset-v1\n',
  renewal: 'outpost-renewal-v1\n',
});

const ENCODER = new TextEncoder();

function refuse(message: string): never {
  throw new OutpostError('VALIDATION_FAILED', `cannot make canonical JSON: ${message}`);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function write(value: unknown, depth: number, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) refuse(`${where} is ${value}, not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      return refuse(`${where} is a ${typeof value}`);
  }
  if (depth >= MAX_CANONICAL_DEPTH) refuse(`${where} is nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
  if (Array.isArray(value)) {
    const items = value.map((item: unknown, index) => {
      if (item === undefined) refuse(`${where}[${index}] is undefined`);
      return write(item, depth + 1, `${where}[${index}]`);
    });
    return `[${items.join(',')}]`;
  }
  if (!isPlainObject(value)) refuse(`${where} is not a plain object`);
  const record = value as Readonly<Record<string, unknown>>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${write(member, depth + 1, `${where}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}

/** Canonical JSON text of `value`. Throws OutpostError VALIDATION_FAILED for what JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return write(value, 0, 'value');
}

/** Canonical JSON of `value` as UTF-8 bytes. */
export function canonicalBytes(value: unknown): Uint8Array {
  return ENCODER.encode(canonicalJson(value));
}

function signingBytes(domain: string, value: unknown): Uint8Array {
  return ENCODER.encode(domain + canonicalJson(value));
}

/** The bytes an OTA signing key signs for a manifest (OtaJob.signature, `outpost firmware sign`). */
export function manifestSigningBytes(manifest: Manifest): Uint8Array {
  return signingBytes(SIGNING_DOMAINS.manifest, manifest);
}

/** The bytes each TrustSet signature covers: the set without `signatures`. */
export function trustSetSigningBytes(trustSet: Omit<TrustSet, 'signatures'> & Partial<Pick<TrustSet, 'signatures'>>): Uint8Array {
  const { signatures: _signatures, ...signed } = trustSet;
  return signingBytes(SIGNING_DOMAINS.trustSet, signed);
}

/** The bytes a grace-period renewal request's `sig` covers: the request without `sig`. */
export function renewalSigningBytes(request: Omit<RenewalRequest, 'sig'> & Partial<Pick<RenewalRequest, 'sig'>>): Uint8Array {
  const { sig: _sig, ...signed } = request;
  return signingBytes(SIGNING_DOMAINS.renewal, signed);
}
