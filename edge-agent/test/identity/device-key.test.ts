import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewalSigningBytes } from '@outpost/protocol';
import { createCsr, generateDeviceKey } from '../../src/identity/device-key.js';
import { ensureDeviceKey } from '../../src/identity/enroll.js';
import { renewAt, renewalMode, signedRenewalRequest } from '../../src/identity/renewal.js';
import { statePaths } from '../../src/identity/state-dir.js';

describe('the device key and its CSR', () => {
  let keyPem: string;
  let dir: string;
  beforeAll(async () => {
    keyPem = await generateDeviceKey();
    dir = await mkdtemp(join(tmpdir(), 'agent-key-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('makes an RSA-2048 key', () => {
    const details = createPublicKey(keyPem).asymmetricKeyDetails;
    expect(details?.modulusLength).toBe(2048);
  });

  it('builds a CSR signed by the key, with the asked CN or none', async () => {
    const csr = forge.pki.certificationRequestFromPem(await createCsr(keyPem, 'pi-kitchen'));
    expect(csr.verify()).toBe(true);
    expect(csr.subject.getField('CN')?.value).toBe('pi-kitchen');
    const pub = forge.pki.publicKeyToPem(csr.publicKey as forge.pki.rsa.PublicKey);
    expect(createPublicKey(pub).export({ format: 'der', type: 'spki' })).toEqual(createPublicKey(keyPem).export({ format: 'der', type: 'spki' }));
    const anonymous = forge.pki.certificationRequestFromPem(await createCsr(keyPem));
    expect(anonymous.verify()).toBe(true);
    expect(anonymous.subject.getField('CN')).toBeNull();
  });

  it('stores the key 0600 once and reuses it on a retried enrollment', async () => {
    const paths = statePaths(join(dir, 'state'));
    const first = await ensureDeviceKey(paths);
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect(await ensureDeviceKey(paths)).toBe(first);
    expect(await readFile(paths.key, 'utf8')).toBe(first);
  });

  it('signs a grace-period renewal over the canonical renewal bytes', async () => {
    const csr = await createCsr(keyPem, 'pi-kitchen');
    const request = signedRenewalRequest({ deviceId: 'pi-kitchen', keyPem }, csr, 1_700_000_000_000);
    const { sig, ...unsigned } = request;
    expect(verify('sha256', renewalSigningBytes(unsigned), createPublicKey(keyPem), Buffer.from(sig, 'base64'))).toBe(true);
    expect(verify('sha256', renewalSigningBytes({ ...unsigned, ts: unsigned.ts + 1 }), createPublicKey(keyPem), Buffer.from(sig, 'base64'))).toBe(false);
  });

  it.each([
    [0, 'none'],
    [599, 'none'],
    [600, 'mtls'],
    [899, 'mtls'],
    [900, 'signed'],
    [900 + 99, 'signed'],
    [900 + 100, 'too-late'],
  ] as const)('at t=%i of a 0..900 certificate with 100 ms grace renewal is %s', (now, mode) => {
    const cert = { notBefore: 0, notAfter: 900 };
    expect(renewAt(cert)).toBe(600);
    expect(renewalMode(cert, now, 100)).toBe(mode);
  });
});
