import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/pki/index.js';

const pemOf = (key: ReturnType<typeof generateKeyPairSync>['publicKey']): string => key.export({ type: 'spki', format: 'pem' }).toString();

describe('verifySignature', () => {
  const device = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = new TextEncoder().encode('{"v":1,"deviceId":"pi-001","ts":1700000000000}');
  const signature = sign('sha256', data, device.privateKey).toString('base64');

  it('accepts what a device makes with crypto.sign("sha256", data, key)', () => {
    expect(verifySignature(pemOf(device.publicKey), data, signature)).toBe(true);
  });

  it('accepts the signature without base64 padding', () => {
    const unpadded = sign('sha256', Buffer.from('x'), device.privateKey).toString('base64').replace(/=+$/, '');
    expect(verifySignature(pemOf(device.publicKey), Buffer.from('x'), unpadded)).toBe(true);
  });

  const tampered = Uint8Array.from(data);
  tampered[3] = (tampered[3] ?? 0) ^ 0x01;
  const flipped = Buffer.from(signature, 'base64');
  flipped[10] = (flipped[10] ?? 0) ^ 0x01;

  it.each([
    ["another device's key", pemOf(stranger.publicKey), data, signature],
    ['tampered data', pemOf(device.publicKey), tampered, signature],
    ['a tampered signature', pemOf(device.publicKey), data, flipped.toString('base64')],
    ['garbage base64', pemOf(device.publicKey), data, '!!!not base64!!!'],
    ['an empty signature', pemOf(device.publicKey), data, ''],
    ['a truncated signature', pemOf(device.publicKey), data, signature.slice(0, 40)],
    ['a key that is not PEM', 'not a key', data, signature],
    ['an EC key with an ECDSA signature', pemOf(ec.publicKey), data, sign('sha256', data, ec.privateKey).toString('base64')],
    ['a signature that is not a string', pemOf(device.publicKey), data, 42 as unknown as string],
  ])('refuses %s without throwing', (_label, keyPem, bytes, sig) => {
    expect(verifySignature(keyPem, bytes, sig)).toBe(false);
  });
});
