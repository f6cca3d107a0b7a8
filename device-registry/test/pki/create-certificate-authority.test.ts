import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint, certificateInfo, createCertificateAuthority } from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';
import { caught, DAY_MS, SKEW_MS } from './fixtures.js';
import { normaliseHex, opensslDate, opensslWorkspace } from './openssl.js';

describe('createCertificateAuthority', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  let ca: CaMaterial & IssuedCertificate;
  let text: string;

  beforeAll(async () => {
    ca = await createCertificateAuthority({ commonName: 'Outpost platform CA 1', validityDays: 3650, now });
    openssl.write('ca.pem', ca.certPem);
    text = openssl.ok(['x509', '-in', 'ca.pem', '-noout', '-text']);
  });
  afterAll(() => openssl.close());

  it('makes a self-signed CA that may sign end entities only (CA:TRUE, pathlen 0)', () => {
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', 'ca.pem'])).toContain('ca.pem: OK');
  });

  it('allows certificate and CRL signing only', () => {
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  });

  it('carries a subject key identifier, repeated as its authority key identifier', () => {
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1];
    const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    expect(ski).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(aki).toBe(ski);
  });

  it('signs with SHA-256 and an RSA-3072 key by default', () => {
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (3072 bit)');
  });

  it('returns the private key as PKCS#8 PEM matching the certificate', () => {
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const fromKey = createPublicKey(createPrivateKey(ca.keyPem)).export({ type: 'spki', format: 'der' });
    expect(fromKey.equals(new X509Certificate(ca.certPem).publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
  });

  it('starts five minutes before now and lasts validityDays', () => {
    const dates = openssl.ok(['x509', '-in', 'ca.pem', '-noout', '-startdate', '-enddate']);
    const start = Math.floor(now / 1000) * 1000;
    expect(opensslDate(dates, 'notBefore')).toBe(start - SKEW_MS);
    expect(opensslDate(dates, 'notAfter')).toBe(start + 3650 * DAY_MS);
    expect(ca.notBefore).toBe(start - SKEW_MS);
    expect(ca.notAfter).toBe(start + 3650 * DAY_MS);
  });

  it('reports the fingerprint openssl computes', () => {
    const printed = openssl.ok(['x509', '-in', 'ca.pem', '-noout', '-fingerprint', '-sha256']);
    expect(ca.fingerprint).toBe(`sha256:${normaliseHex(printed.trim())}`);
    expect(certificateFingerprint(ca.certPem)).toBe(ca.fingerprint);
  });

  it('reports the serial openssl reads: 16 bytes, positive', () => {
    const printed = openssl.ok(['x509', '-in', 'ca.pem', '-noout', '-serial']);
    expect(ca.serial).toBe(normaliseHex(printed.trim()));
    expect(ca.serial).toMatch(/^[1-7][0-9a-f]{31}$|^0[1-9a-f][0-9a-f]{30}$/);
    expect(certificateInfo(ca.certPem)).toMatchObject({ serial: ca.serial, subjectCn: 'Outpost platform CA 1', issuerCn: 'Outpost platform CA 1' });
  });

  it('honours keyBits', async () => {
    const small = await createCertificateAuthority({ commonName: 'small', validityDays: 1, now, keyBits: 2048 });
    expect(new X509Certificate(small.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('encodes a non-ASCII common name as UTF8String', async () => {
    const name = 'Outpost CA — Zürich';
    const utf8 = await createCertificateAuthority({ commonName: name, validityDays: 1, now, keyBits: 2048 });
    openssl.write('utf8.pem', utf8.certPem);
    expect(openssl.ok(['x509', '-in', 'utf8.pem', '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus'])).toContain(`CN=${name}`);
    expect(certificateInfo(utf8.certPem).subjectCn).toBe(name);
  });

  it.each([
    ['an empty common name', { commonName: '', validityDays: 1 }],
    ['a common name over 64 characters', { commonName: 'x'.repeat(65), validityDays: 1 }],
    ['zero validity', { commonName: 'ca', validityDays: 0 }],
    ['a key under 2048 bits', { commonName: 'ca', validityDays: 1, keyBits: 1024 }],
  ])('refuses %s', async (_label, options) => {
    expect(await caught(() => createCertificateAuthority({ now, ...options }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
