import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint, certificateInfo, generateRsaKeyPair, isIssuedBy, issueDeviceCertificate } from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';
import { caught, throwawayCa } from './fixtures.js';
import { opensslWorkspace } from './openssl.js';

describe('isIssuedBy, certificateInfo and CA rotation', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  let ca1: CaMaterial & IssuedCertificate;
  let ca2: CaMaterial & IssuedCertificate;
  let publicKeyPem: string;
  let fromCa1: IssuedCertificate;
  let fromCa2: IssuedCertificate;

  beforeAll(async () => {
    // Same CN on purpose: a rotation keeps the name, so only keys and identifiers tell them apart.
    [ca1, ca2] = await Promise.all([throwawayCa('Outpost platform CA'), throwawayCa('Outpost platform CA')]);
    publicKeyPem = (await generateRsaKeyPair()).publicKeyPem;
    fromCa1 = await issueDeviceCertificate(ca1, { publicKeyPem, deviceId: 'pi-001', validityDays: 30, now });
    fromCa2 = await issueDeviceCertificate(ca2, { publicKeyPem, deviceId: 'pi-001', validityDays: 30, now });
  });
  afterAll(() => openssl.close());

  it('recognises the issuing CA', () => {
    expect(isIssuedBy(fromCa1.certPem, ca1.certPem)).toBe(true);
    expect(isIssuedBy(fromCa2.certPem, ca2.certPem)).toBe(true);
  });

  it('refuses another CA with the same name', () => {
    expect(isIssuedBy(fromCa1.certPem, ca2.certPem)).toBe(false);
    expect(isIssuedBy(fromCa2.certPem, ca1.certPem)).toBe(false);
  });

  it('refuses a leaf as the issuer of its CA, and garbage', () => {
    expect(isIssuedBy(ca1.certPem, fromCa1.certPem)).toBe(false);
    expect(isIssuedBy('garbage', ca1.certPem)).toBe(false);
    expect(isIssuedBy(fromCa1.certPem, 'garbage')).toBe(false);
  });

  it('refuses a certificate whose signature was altered', () => {
    const der = Buffer.from(fromCa1.certPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const altered = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(certificateInfo(altered).subjectCn).toBe('pi-001');
    expect(isIssuedBy(altered, ca1.certPem)).toBe(false);
  });

  it('does not look at validity: an expired certificate is still recognised (grace-period renewal)', async () => {
    const longAgo = now - 400 * 24 * 60 * 60 * 1000;
    const oldCa = await throwawayCa('old CA', { now: longAgo, validityDays: 3650 });
    const expired = await issueDeviceCertificate(oldCa, { publicKeyPem, deviceId: 'pi-old', validityDays: 1, now: longAgo });
    expect(isIssuedBy(expired.certPem, oldCa.certPem)).toBe(true);
  });

  it('verifies certificates of both generations against a bundle of CA1 + CA2 (openssl verify -CAfile bundle.pem)', () => {
    openssl.write('bundle.pem', `${ca1.certPem}${ca2.certPem}`);
    openssl.write('dev1.pem', fromCa1.certPem);
    openssl.write('dev2.pem', fromCa2.certPem);
    expect(openssl.ok(['verify', '-CAfile', 'bundle.pem', 'dev2.pem']).trim()).toBe('dev2.pem: OK');
    expect(openssl.ok(['verify', '-CAfile', 'bundle.pem', 'dev1.pem']).trim()).toBe('dev1.pem: OK');
    openssl.write('ca1.pem', ca1.certPem);
    expect(openssl.run(['verify', '-CAfile', 'ca1.pem', 'dev2.pem']).status).not.toBe(0);
  });

  it('reads serial, names, validity, fingerprint and key with certificateInfo', () => {
    const info = certificateInfo(fromCa2.certPem);
    expect(info).toEqual({
      serial: fromCa2.serial,
      subjectCn: 'pi-001',
      issuerCn: 'Outpost platform CA',
      notBefore: fromCa2.notBefore,
      notAfter: fromCa2.notAfter,
      fingerprint: fromCa2.fingerprint,
      publicKeyPem: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n/) as unknown as string,
    });
    expect(info.publicKeyPem.replace(/\s/g, '')).toBe(publicKeyPem.replace(/\s/g, ''));
    expect(certificateFingerprint(fromCa2.certPem)).toBe(fromCa2.fingerprint);
  });

  it('throws REGISTRY_CERT_INVALID for what is not a certificate', async () => {
    expect(await caught(() => certificateInfo('nope'))).toMatchObject({ code: 'REGISTRY_CERT_INVALID' });
    expect(await caught(() => certificateFingerprint('nope'))).toMatchObject({ code: 'REGISTRY_CERT_INVALID' });
  });
});
