import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrl, generateRsaKeyPair, issueDeviceCertificate, newSerial, prepareCertificateAuthority } from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';
import { caught, DAY_MS, throwawayCa } from './fixtures.js';
import { opensslWorkspace } from './openssl.js';

describe('buildCrl', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  let ca: CaMaterial & IssuedCertificate;
  let otherCa: CaMaterial & IssuedCertificate;

  beforeAll(async () => {
    [ca, otherCa] = await Promise.all([throwawayCa('Outpost test CA'), throwawayCa('Outpost test CA')]);
    openssl.write('ca.pem', ca.certPem);
    openssl.write('other.pem', otherCa.certPem);
  });
  afterAll(() => openssl.close());

  const crlText = (file: string, caFile = 'ca.pem'): { status: number | null; stdout: string; stderr: string } =>
    openssl.run(['crl', '-in', file, '-CAfile', caFile, '-noout', '-text']);

  it('lists three revoked serials in a CRL openssl verifies against the CA', () => {
    const serials = [newSerial(), newSerial(), newSerial()];
    const pem = buildCrl(ca, {
      revoked: serials.map((serial, index) => ({ serial, revokedAt: now - index * 60_000 })),
      thisUpdate: now,
      nextUpdate: now + DAY_MS,
      crlNumber: 42,
    });
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
    openssl.write('crl.pem', pem);
    const run = crlText('crl.pem');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('verify OK');
    const listed = [...run.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((match) => (match[1] ?? '').toLowerCase());
    expect(listed).toEqual(serials);
    expect(run.stdout).toContain('Version 2 (0x1)');
    expect(run.stdout).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(run.stdout).toMatch(/X509v3 CRL Number:\s+42\n/);
    expect(run.stdout).toMatch(/X509v3 Authority Key Identifier:\s+(keyid:)?[0-9A-F:]{59}/);
  });

  it('verifies when nothing is revoked', () => {
    openssl.write('empty.pem', buildCrl(ca, { revoked: [], thisUpdate: now, nextUpdate: now + DAY_MS, crlNumber: 1 }));
    const run = crlText('empty.pem');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('verify OK');
    expect(run.stdout).toContain('No Revoked Certificates.');
  });

  it('fails verification against another CA, even one with the same name', () => {
    openssl.write('foreign.pem', buildCrl(otherCa, { revoked: [{ serial: newSerial(), revokedAt: now }], thisUpdate: now, nextUpdate: now + DAY_MS, crlNumber: 1 }));
    const run = crlText('foreign.pem');
    expect(run.stderr).not.toContain('verify OK');
    expect(run.stderr).toMatch(/verify fail/i);
  });

  it('makes openssl refuse a revoked device certificate and accept another (verify -crl_check)', async () => {
    const keys = await generateRsaKeyPair();
    const revoked = await issueDeviceCertificate(ca, { publicKeyPem: keys.publicKeyPem, deviceId: 'pi-revoked', validityDays: 1, now });
    const kept = await issueDeviceCertificate(ca, { publicKeyPem: keys.publicKeyPem, deviceId: 'pi-kept', validityDays: 1, now });
    openssl.write('revoked.pem', revoked.certPem);
    openssl.write('kept.pem', kept.certPem);
    openssl.write('check.pem', buildCrl(ca, { revoked: [{ serial: revoked.serial, revokedAt: now }], thisUpdate: now - 60_000, nextUpdate: now + DAY_MS, crlNumber: 2 }));
    const refused = openssl.run(['verify', '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'check.pem', 'revoked.pem']);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('certificate revoked');
    expect(openssl.ok(['verify', '-crl_check', '-CAfile', 'ca.pem', '-CRLfile', 'check.pem', 'kept.pem']).trim()).toBe('kept.pem: OK');
  });

  it('writes times from 2050 on as GeneralizedTime, which openssl reads back', () => {
    const thisUpdate = Date.UTC(2049, 11, 31, 23, 0, 0);
    const nextUpdate = Date.UTC(2051, 5, 1, 12, 30, 15);
    const serial = newSerial();
    openssl.write('future.pem', buildCrl(ca, { revoked: [{ serial, revokedAt: Date.UTC(2050, 0, 2) }], thisUpdate, nextUpdate, crlNumber: 3 }));
    const run = crlText('future.pem');
    expect(run.stderr).toContain('verify OK');
    expect(run.stdout).toContain('Last Update: Dec 31 23:00:00 2049 GMT');
    expect(run.stdout).toContain('Next Update: Jun  1 12:30:15 2051 GMT');
    expect(run.stdout).toContain('Revocation Date: Jan  2 00:00:00 2050 GMT');
    const asn1 = openssl.ok(['asn1parse', '-in', 'future.pem']);
    expect(asn1).toMatch(/UTCTIME\s+:491231230000Z/);
    expect(asn1).toMatch(/GENERALIZEDTIME\s+:20510601123015Z/);
  });

  it('lists a serial revoked twice once, at the earlier time, and accepts uppercase serials', () => {
    const serial = newSerial();
    const pem = buildCrl(prepareCertificateAuthority(ca), {
      revoked: [
        { serial: serial.toUpperCase(), revokedAt: Date.UTC(2030, 0, 2) },
        { serial, revokedAt: Date.UTC(2030, 0, 1) },
      ],
      thisUpdate: now,
      nextUpdate: now + DAY_MS,
      crlNumber: 4,
    });
    openssl.write('dup.pem', pem);
    const run = crlText('dup.pem');
    expect(run.stderr).toContain('verify OK');
    expect(run.stdout.match(/Serial Number:/g)).toHaveLength(1);
    expect(run.stdout).toContain('Revocation Date: Jan  1 00:00:00 2030 GMT');
  });

  it('encodes a CRL number beyond 32 bits', () => {
    openssl.write('big.pem', buildCrl(ca, { revoked: [], thisUpdate: now, nextUpdate: now + DAY_MS, crlNumber: 2 ** 40 + 1 }));
    expect(crlText('big.pem').stdout).toMatch(/X509v3 CRL Number:\s+(1099511627777|0x10000000001)\n/);
  });

  it.each([
    ['nextUpdate before thisUpdate', { nextUpdate: now - 1 }],
    ['a negative crlNumber', { crlNumber: -1 }],
    ['a fractional crlNumber', { crlNumber: 1.5 }],
    ['a serial that is not hex', { revoked: [{ serial: 'zz', revokedAt: now }] }],
    ['a revocation time that is not a number', { revoked: [{ serial: '01', revokedAt: Number.NaN }] }],
  ])('refuses %s', async (_label, override) => {
    const options = { revoked: [], thisUpdate: now, nextUpdate: now + DAY_MS, crlNumber: 1, ...override };
    expect(await caught(() => buildCrl(ca, options))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
