import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateRsaKeyPair, newSerial } from '../../src/pki/index.js';
import { decodeOid, readDer } from '../../src/pki/der-reader.js';
import { ipAddressBytes } from '../../src/pki/ip-address-bytes.js';
import { caught } from './fixtures.js';

describe('newSerial', () => {
  it('makes 16-byte positive serials, 32 lowercase hex characters, first byte never zero, all distinct', () => {
    const serials = Array.from({ length: 2000 }, () => newSerial());
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(serial.slice(0, 2)).not.toBe('00');
    }
    expect(new Set(serials).size).toBe(serials.length);
  });
});

describe('generateRsaKeyPair', () => {
  it('makes an RSA-2048 pair by default: SPKI public, PKCS#8 private', async () => {
    const keys = await generateRsaKeyPair();
    expect(keys.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(keys.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPublicKey(keys.publicKeyPem).asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
  });

  it.each([1024, 2047, 16384])('refuses %i bits', async (bits) => {
    expect(await caught(() => generateRsaKeyPair(bits))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('ipAddressBytes', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
  ])('reads %s', (text, hex) => {
    expect(ipAddressBytes(text)?.toString('hex')).toBe(hex);
  });

  it.each(['localhost', '1.2.3', '256.0.0.1', 'fe80::1%eth0', ''])('answers undefined for %j', (text) => {
    expect(ipAddressBytes(text)).toBeUndefined();
  });
});

describe('readDer', () => {
  it.each([
    ['an indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['a non-minimal long length', [0x04, 0x81, 0x01, 0x00]],
    ['a length past the end', [0x04, 0x05, 0x00]],
    ['a multi-byte tag', [0x1f, 0x81, 0x01, 0x00]],
    ['nothing', []],
  ])('refuses %s', (_label, bytes) => {
    expect(() => readDer(Buffer.from(bytes))).toThrow(/DER/);
  });

  it('decodes OIDs', () => {
    expect(decodeOid(Buffer.from('2a864886f70d01010b', 'hex'))).toBe('1.2.840.113549.1.1.11');
    expect(decodeOid(Buffer.from('551d0e', 'hex'))).toBe('2.5.29.14');
  });
});
