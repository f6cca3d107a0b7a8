import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CSR_PEM_BYTES, parseCsr } from '../../src/pki/index.js';
import type { CsrErrorCode } from '../../src/pki/index.js';
import { throwawayCa } from './fixtures.js';
import { opensslWorkspace } from './openssl.js';

const pemBody = (pem: string): Buffer =>
  Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
const toCsrPem = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;

describe('parseCsr', () => {
  const openssl = opensslWorkspace();
  const csr = (name: string, newKey: readonly string[], subject = '/CN=pi-001'): string => {
    openssl.ok(['req', '-new', ...newKey, '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    return openssl.read(`${name}.csr`);
  };
  let rsa2048: string;
  let rsa1024: string;
  let ecP256: string;
  let ed25519: string;
  let certificatePem: string;

  beforeAll(async () => {
    rsa2048 = csr('rsa2048', ['-newkey', 'rsa:2048']);
    rsa1024 = csr('rsa1024', ['-newkey', 'rsa:1024']);
    ecP256 = csr('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    ed25519 = csr('ed', ['-newkey', 'ed25519']);
    certificatePem = (await throwawayCa()).certPem;
  });
  afterAll(() => openssl.close());

  it('reads an RSA-2048 CSR: its key, its CN and the key size', () => {
    const parsed = parseCsr(rsa2048);
    expect(parsed).toMatchObject({ ok: true, value: { commonName: 'pi-001', keyBits: 2048 } });
    if (!parsed.ok) return;
    openssl.write('extracted.pub', parsed.value.publicKeyPem);
    expect(openssl.ok(['rsa', '-pubin', '-in', 'extracted.pub', '-noout', '-modulus'])).toBe(
      openssl.ok(['rsa', '-in', 'rsa2048.key', '-noout', '-modulus']),
    );
  });

  it('answers no commonName when the subject has none', () => {
    const parsed = parseCsr(csr('no-cn', ['-newkey', 'rsa:2048'], '/O=Outpost'));
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.value.commonName).toBeUndefined();
  });

  it('reads a CSR with CRLF line ends and the NEW CERTIFICATE REQUEST label', () => {
    const crlf = rsa2048.replace(/\n/g, '\r\n').replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST');
    expect(parseCsr(crlf)).toMatchObject({ ok: true, value: { commonName: 'pi-001' } });
  });

  const flipByte = (pem: string, fromEnd: number): string => {
    const der = pemBody(pem);
    const index = der.length - fromEnd;
    der[index] = (der[index] ?? 0) ^ 0x01;
    return toCsrPem(der);
  };

  const renameSubject = (pem: string): string => {
    const der = pemBody(pem);
    const at = der.indexOf('pi-001');
    expect(at).toBeGreaterThan(0);
    der.write('pi-002', at);
    return toCsrPem(der);
  };

  const rejections: [string, () => string, CsrErrorCode, RegExp][] = [
    ['garbage', () => 'hello, I am a device', 'CSR_PEM_INVALID', /BEGIN CERTIFICATE REQUEST/],
    ['an empty string', () => '', 'CSR_PEM_INVALID', /BEGIN CERTIFICATE REQUEST/],
    ['a certificate PEM instead of a CSR', () => certificatePem, 'CSR_PEM_INVALID', /got CERTIFICATE/],
    ['a PEM cut in half', () => rsa2048.slice(0, Math.floor(rsa2048.length / 2)), 'CSR_PEM_INVALID', /CERTIFICATE REQUEST/],
    [
      'a PEM missing a line in the middle',
      () => rsa2048.split('\n').filter((_line, index) => index !== 5).join('\n'),
      'CSR_PEM_INVALID',
      /not a DER PKCS#10 request/,
    ],
    ['20 KiB of input', () => rsa2048 + ' '.repeat(20 * 1024), 'CSR_PEM_INVALID', new RegExp(`limit is ${MAX_CSR_PEM_BYTES}`)],
    ['a CSR whose base64 is not DER', () => toCsrPem(Buffer.from('not DER at all')), 'CSR_PEM_INVALID', /DER/],
    ['an RSA-1024 CSR', () => rsa1024, 'CSR_KEY_TOO_SMALL', /1024 bits, at least 2048/],
    ['an EC P-256 CSR', () => ecP256, 'CSR_KEY_UNSUPPORTED', /ec prime256v1; only RSA/],
    ['an Ed25519 CSR', () => ed25519, 'CSR_KEY_UNSUPPORTED', /ed25519; only RSA/],
    ['a CSR whose signature has a flipped byte', () => flipByte(rsa2048, 1), 'CSR_SIGNATURE_INVALID', /does not verify/],
    ['a CSR whose subject was altered', () => renameSubject(rsa2048), 'CSR_SIGNATURE_INVALID', /does not verify/],
    ['not a string at all', () => 42 as unknown as string, 'CSR_PEM_INVALID', /PEM string/],
  ];

  it.each(rejections)('refuses %s', (_label, input, code, reason) => {
    const parsed = parseCsr(input());
    expect(parsed).toMatchObject({ ok: false, code });
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it('never throws, whatever the bytes (300 random corruptions)', () => {
    const der = pemBody(rsa2048);
    for (let round = 0; round < 300; round += 1) {
      const mutated = Buffer.from(der);
      if (round % 3 === 0) {
        mutated[randomInt(mutated.length)] = randomInt(256);
      } else if (round % 3 === 1) {
        mutated.writeUInt8(randomInt(256), randomInt(Math.min(12, mutated.length)));
      }
      const input = round % 3 === 2 ? toCsrPem(der.subarray(0, randomInt(der.length))) : toCsrPem(mutated);
      const parsed = parseCsr(input);
      if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
    }
  });
});
