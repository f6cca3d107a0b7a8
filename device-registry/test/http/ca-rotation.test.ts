import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool, type TestKey } from '../helpers/keys.js';
import { openssl, scratch } from '../helpers/openssl.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

interface Answer {
  deviceId: string;
  certificate: string;
  caChain: string;
  serial: string;
}
interface CaBody {
  chainPem: string;
  fingerprint: string;
  cas: { id: string; commonName: string; status: string }[];
}

describe('CA rotation', () => {
  let t: RegistryPlatform;
  let files: Awaited<ReturnType<typeof scratch>>;
  let keys: TestKey[];
  const k = (i: number): TestKey => {
    const key = keys[i];
    if (key === undefined) throw new Error(`no key ${i}`);
    return key;
  };
  beforeAll(async () => {
    keys = keyPool(6);
    t = await startRegistryPlatform();
    files = await scratch();
  });
  afterAll(async () => {
    await t.close();
    await files.cleanup();
  });

  const issuerCn = (pem: string, name: string): Promise<string> =>
    files.write(name, pem).then((path) => openssl(['x509', '-in', path, '-noout', '-issuer']).trim());

  it('rotates onto a new CA, renews devices onto it, and retires the old one without any device failing to reconnect', async () => {
    const { token } = await t.enrollmentToken({ maxUses: 10 });
    const a1 = (await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(k(0), 'rot-a') } })).body as Answer;
    const late = (await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(k(1), 'rot-late') } })).body as Answer;
    const chain1 = a1.caChain;
    expect(await issuerCn(a1.certificate, 'a1.pem')).toMatch(/Outpost platform CA 1/);

    const rotated = await t.api('POST', '/api/v1/ca/rotate', { token: t.admin });
    expect(rotated.status).toBe(200);
    const afterRotate = rotated.body as CaBody;
    expect(afterRotate.cas.map((c) => [c.commonName, c.status])).toEqual([
      ['Outpost platform CA 2', 'active'],
      ['Outpost platform CA 1', 'previous'],
    ]);
    const chain2 = afterRotate.chainPem;
    expect(chain2).toContain(chain1.trim());

    // A device that only knows CA 1 still reaches the listener, and renews over mTLS onto CA 2.
    const renewed = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(2), 'rot-a') }, ca: chain1, cert: a1.certificate, key: k(0).privateKeyPem });
    expect(renewed.status).toBe(200);
    expect(renewed.peerIssuerCn).toBe('Outpost platform CA 1');
    const a2 = renewed.body as Answer;
    expect(a2.caChain).toBe(chain2);
    expect(await issuerCn(a2.certificate, 'a2.pem')).toMatch(/Outpost platform CA 2/);
    const chainFile = await files.write('chain2.pem', chain2);
    for (const [name, pem] of [['a1.pem', a1.certificate], ['a2.pem', a2.certificate]] as const) {
      const path = await files.write(name, pem);
      expect(openssl(['verify', '-CAfile', chainFile, path])).toBe(`${path}: OK\n`);
    }

    const b = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(k(3), 'rot-b') }, ca: chain2 });
    expect(await issuerCn((b.body as Answer).certificate, 'b.pem')).toMatch(/Outpost platform CA 2/);

    // rot-late never renewed: retiring CA 1 would lock it out, so it is refused.
    const refused = await t.api('POST', '/api/v1/ca/retire', { token: t.admin, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CA_RETIRE_CONFLICT', details: { devices: ['rot-late'], count: 1 } });
    const lateRenewal = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(4), 'rot-late') }, ca: chain1, cert: late.certificate, key: k(1).privateKeyPem });
    expect(lateRenewal.status).toBe(200);

    const retired = await t.api('POST', '/api/v1/ca/retire', { token: t.admin, body: {} });
    expect(retired.status).toBe(200);
    const afterRetire = retired.body as CaBody;
    expect(afterRetire.cas.map((c) => c.status)).toEqual(['active', 'retired']);
    expect(afterRetire.chainPem).not.toContain(chain1.trim());
    expect(afterRetire.fingerprint).toBe(afterRotate.fingerprint);

    // The server certificate now comes from CA 2; devices holding the chain from their last renewal connect.
    // (a2 is fresh and from the active CA: renewing it with the same key answers it again.)
    const after = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(2), 'rot-a') }, ca: a2.caChain, cert: a2.certificate, key: k(2).privateKeyPem });
    expect(after.status).toBe(200);
    expect((after.body as Answer).serial).toBe(a2.serial);
    expect(after.peerIssuerCn).toBe('Outpost platform CA 2');
    // A certificate from the retired CA no longer authenticates.
    const old = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(5), 'rot-a') }, ca: a2.caChain, cert: a1.certificate, key: k(0).privateKeyPem });
    expect(old.status).toBe(401);

    const again = await t.api('POST', '/api/v1/ca/retire', { token: t.admin, body: {} });
    expect(again.status).toBe(409);
  });
});
