import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateInfo,
  generateRsaKeyPair,
  issueClientCertificate,
  issueDeviceCertificate,
  parseCsr,
  prepareCertificateAuthority,
} from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';
import { caught, DAY_MS, SKEW_MS, throwawayCa } from './fixtures.js';
import { normaliseHex, opensslDate, opensslWorkspace } from './openssl.js';

const spkiDer = (pem: string): Buffer => createPublicKey(pem).export({ type: 'spki', format: 'der' });

describe('issueDeviceCertificate', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  let ca: CaMaterial & IssuedCertificate;
  let csrPublicKeyPem: string;
  let device: IssuedCertificate;

  beforeAll(async () => {
    ca = await throwawayCa();
    openssl.write('ca.pem', ca.certPem);
    openssl.ok(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pi-001', '-keyout', 'dev.key', '-out', 'dev.csr']);
    const parsed = parseCsr(openssl.read('dev.csr'));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value).toMatchObject({ commonName: 'pi-001', keyBits: 2048 });
    csrPublicKeyPem = parsed.value.publicKeyPem;
    device = await issueDeviceCertificate(ca, { publicKeyPem: csrPublicKeyPem, deviceId: 'pi-001', validityDays: 90, now });
    openssl.write('dev.pem', device.certPem);
  });
  afterAll(() => openssl.close());

  it('issues a certificate for an openssl CSR that openssl verifies against the CA', () => {
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', 'dev.pem']).trim()).toBe('dev.pem: OK');
  });

  it('is fit for TLS client authentication (openssl -purpose sslclient)', () => {
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', 'dev.pem']).trim()).toBe('dev.pem: OK');
    expect(openssl.run(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslserver', 'dev.pem']).status).not.toBe(0);
  });

  it('names the device in the CN, with O = Outpost device', () => {
    const subject = openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-subject', '-nameopt', 'sep_comma_plus']);
    expect(subject.trim()).toBe('subject=CN=pi-001,O=Outpost device');
    expect(certificateInfo(device.certPem)).toMatchObject({ subjectCn: 'pi-001', issuerCn: 'Outpost test CA' });
  });

  it('is an end entity: CA:FALSE, digitalSignature + keyEncipherment, clientAuth, key identifiers', () => {
    const text = openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-text']);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(text).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    const caText = openssl.ok(['x509', '-in', 'ca.pem', '-noout', '-text']);
    expect(aki).toBe(/Subject Key Identifier:\s+([0-9A-F:]+)/.exec(caText)?.[1]);
    expect(text).toMatch(/Subject Key Identifier:\s+[0-9A-F:]{59}/);
  });

  it('lasts validityDays from now, starting five minutes early', () => {
    const dates = openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-startdate', '-enddate']);
    const start = Math.floor(now / 1000) * 1000;
    expect(opensslDate(dates, 'notBefore')).toBe(start - SKEW_MS);
    expect(opensslDate(dates, 'notAfter')).toBe(start + 90 * DAY_MS);
    expect([device.notBefore, device.notAfter]).toEqual([start - SKEW_MS, start + 90 * DAY_MS]);
  });

  it('certifies the key of the CSR and reports serial and fingerprint as openssl reads them', () => {
    const info = certificateInfo(device.certPem);
    expect(spkiDer(info.publicKeyPem).equals(spkiDer(csrPublicKeyPem))).toBe(true);
    expect(openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-modulus'])).toBe(openssl.ok(['rsa', '-in', 'dev.key', '-noout', '-modulus']));
    expect(device.serial).toBe(normaliseHex(openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-serial']).trim()));
    expect(device.fingerprint).toBe(`sha256:${normaliseHex(openssl.ok(['x509', '-in', 'dev.pem', '-noout', '-fingerprint', '-sha256']).trim())}`);
    expect(info).toMatchObject({ serial: device.serial, fingerprint: device.fingerprint, notBefore: device.notBefore, notAfter: device.notAfter });
  });

  it('accepts a CSR built with node-forge the way the edge agent builds it', async () => {
    const keys = await generateRsaKeyPair();
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
    csr.setSubject([{ name: 'commonName', value: 'pi-forge' }]);
    csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
    const parsed = parseCsr(forge.pki.certificationRequestToPem(csr));
    expect(parsed).toMatchObject({ ok: true, value: { commonName: 'pi-forge', keyBits: 2048 } });
    if (!parsed.ok) return;
    expect(spkiDer(parsed.value.publicKeyPem).equals(spkiDer(keys.publicKeyPem))).toBe(true);
    const issued = await issueDeviceCertificate(ca, { publicKeyPem: parsed.value.publicKeyPem, deviceId: 'pi-forge', validityDays: 90, now });
    openssl.write('forge-dev.pem', issued.certPem);
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', 'forge-dev.pem']).trim()).toBe('forge-dev.pem: OK');
  });

  it("accepts a node-forge CSR signed with forge's default digest (SHA-1)", async () => {
    const keys = await generateRsaKeyPair();
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
    csr.setSubject([{ name: 'commonName', value: 'pi-sha1' }]);
    csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem));
    expect(parseCsr(forge.pki.certificationRequestToPem(csr))).toMatchObject({ ok: true, value: { commonName: 'pi-sha1' } });
  });

  it('uses the serial it is given, in lowercase', async () => {
    const issued = await issueDeviceCertificate(ca, { publicKeyPem: csrPublicKeyPem, deviceId: 'pi-001', validityDays: 1, now, serial: '7F00AA' });
    expect(issued.serial).toBe('7f00aa');
    expect(certificateInfo(issued.certPem).serial).toBe('7f00aa');
  });

  it('never outlives its CA', async () => {
    const shortCa = await throwawayCa('short CA', { validityDays: 10, now });
    const issued = await issueDeviceCertificate(shortCa, { publicKeyPem: csrPublicKeyPem, deviceId: 'pi-001', validityDays: 90, now });
    expect(issued.notAfter).toBe(shortCa.notAfter);
    expect(certificateInfo(issued.certPem).notAfter).toBe(shortCa.notAfter);
  });

  it('takes the key from any PEM Node reads: PKCS#1, or even a certificate', async () => {
    const pkcs1 = createPublicKey(csrPublicKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    const fromPkcs1 = await issueDeviceCertificate(ca, { publicKeyPem: pkcs1, deviceId: 'pi-001', validityDays: 1, now });
    const fromCert = await issueDeviceCertificate(ca, { publicKeyPem: device.certPem, deviceId: 'pi-001', validityDays: 1, now });
    for (const issued of [fromPkcs1, fromCert]) {
      expect(spkiDer(certificateInfo(issued.certPem).publicKeyPem).equals(spkiDer(csrPublicKeyPem))).toBe(true);
    }
  });

  it('issues the same from a prepared CA', async () => {
    const prepared = prepareCertificateAuthority(ca);
    const issued = await issueDeviceCertificate(prepared, { publicKeyPem: csrPublicKeyPem, deviceId: 'pi-002', validityDays: 90, now });
    openssl.write('prepared.pem', issued.certPem);
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', 'prepared.pem']).trim()).toBe('prepared.pem: OK');
  });

  describe('refuses', () => {
    const ecKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const options = (): { publicKeyPem: string; deviceId: string; validityDays: number; now: number } => ({
      publicKeyPem: csrPublicKeyPem,
      deviceId: 'pi-001',
      validityDays: 90,
      now,
    });

    it.each([
      ['a device id that breaks the pattern', { deviceId: 'Pi_001' }, 'DEVICE_ID_INVALID'],
      ['an EC public key', { publicKeyPem: ecKeyPem }, 'VALIDATION_FAILED'],
      ['a public key that is not PEM', { publicKeyPem: 'nope' }, 'VALIDATION_FAILED'],
      ['a negative serial', { serial: '80ff' }, 'VALIDATION_FAILED'],
      ['a serial with a leading zero byte', { serial: '0001' }, 'VALIDATION_FAILED'],
      ['a serial that is not hex', { serial: 'xyz1' }, 'VALIDATION_FAILED'],
      ['a serial over 20 bytes', { serial: `7${'f'.repeat(41)}` }, 'VALIDATION_FAILED'],
      ['a negative lifetime', { validityDays: -1 }, 'VALIDATION_FAILED'],
      ['a lifetime past the year 9999', { validityDays: 3_000_000 }, 'VALIDATION_FAILED'],
    ])('%s', async (_label, override, code) => {
      expect(await caught(() => issueDeviceCertificate(ca, { ...options(), ...override }))).toMatchObject({ code });
    });

    it('to issue from an expired CA', async () => {
      const error = await caught(() => issueDeviceCertificate(ca, { ...options(), now: ca.notAfter + 1000 }));
      expect(error).toMatchObject({ code: 'REGISTRY_CA_EXPIRED' });
    });

    it('CA material whose key does not match its certificate', async () => {
      const other = await throwawayCa('other');
      const error = await caught(() => issueDeviceCertificate({ certPem: ca.certPem, keyPem: other.keyPem }, options()));
      expect(error).toMatchObject({ code: 'REGISTRY_CA_INVALID' });
    });

    it('a device certificate in the place of a CA', async () => {
      const keys = await generateRsaKeyPair();
      const leaf = await issueDeviceCertificate(ca, { ...options(), publicKeyPem: keys.publicKeyPem });
      const error = await caught(() => issueDeviceCertificate({ certPem: leaf.certPem, keyPem: keys.privateKeyPem }, options()));
      expect(error).toMatchObject({ code: 'REGISTRY_CA_INVALID' });
    });
  });
});

describe('issueClientCertificate', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  let ca: CaMaterial & IssuedCertificate;
  let publicKeyPem: string;

  beforeAll(async () => {
    ca = await throwawayCa();
    publicKeyPem = (await generateRsaKeyPair()).publicKeyPem;
    openssl.write('ca.pem', ca.certPem);
  });
  afterAll(() => openssl.close());

  it('issues an integration identity: CN = name, OU = role, clientAuth', async () => {
    const issued = await issueClientCertificate(ca, { publicKeyPem, name: 'grafana-bridge', role: 'integration', validityDays: 365, now });
    openssl.write('client.pem', issued.certPem);
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', 'client.pem']).trim()).toBe('client.pem: OK');
    const subject = openssl.ok(['x509', '-in', 'client.pem', '-noout', '-subject', '-nameopt', 'sep_comma_plus']);
    expect(subject.trim()).toBe('subject=CN=grafana-bridge,O=Outpost client,OU=integration');
    expect(issued.notAfter - issued.notBefore).toBe(365 * DAY_MS + SKEW_MS);
  });

  it.each([
    ['a name with a space', { name: 'grafana bridge' }],
    ['an empty name', { name: '' }],
    ['an uppercase role', { role: 'Integration' }],
  ])('refuses %s', async (_label, override) => {
    const options = { publicKeyPem, name: 'grafana-bridge', role: 'integration', validityDays: 1, now, ...override };
    expect(await caught(() => issueClientCertificate(ca, options))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
