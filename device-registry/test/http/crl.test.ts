import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool } from '../helpers/keys.js';
import { openssl, scratch } from '../helpers/openssl.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

describe('CRL', () => {
  let t: RegistryPlatform;
  let files: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    t = await startRegistryPlatform();
    files = await scratch();
  });
  afterAll(async () => {
    await t.close();
    await files.cleanup();
  });

  it('is signed by the CA, verifies with openssl crl -CAfile, and lists every revoked serial at once', async () => {
    const [k1, k2, k3] = keyPool(3);
    if (k1 === undefined || k2 === undefined || k3 === undefined) throw new Error('keys');
    const { token } = await t.enrollmentToken();
    const enroll = async (key: typeof k1, id: string): Promise<string> => {
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, id) } });
      return (res.body as { serial: string }).serial;
    };
    const stolen = await enroll(k1, 'crl-stolen');
    const oneCert = await enroll(k2, 'crl-one-cert');
    const kept = await enroll(k3, 'crl-kept');
    const caFile = await files.write('ca.pem', await t.chain());

    const empty = await t.device('GET', '/device/v1/crl');
    expect(empty.status).toBe(200);
    expect(empty.text).toMatch(/^-----BEGIN X509 CRL-----/);
    const emptyFile = await files.write('empty.pem', empty.text);
    const emptyText = openssl(['crl', '-in', emptyFile, '-CAfile', caFile, '-noout', '-text']);
    expect(emptyText).toContain('verify OK');
    expect(emptyText).toContain('No Revoked Certificates');

    await t.api('POST', '/api/v1/devices/crl-stolen/revoke', { token: t.admin });
    await t.api('POST', `/api/v1/certificates/${oneCert}/revoke`, { token: t.admin });

    for (const [name, pem] of [
      ['device.pem', (await t.device('GET', '/device/v1/crl')).text],
      ['operator.pem', (await t.api('GET', '/api/v1/crl', { token: t.admin })).text],
    ] as const) {
      const path = await files.write(name, pem);
      const text = openssl(['crl', '-in', path, '-CAfile', caFile, '-noout', '-text']);
      expect(text).toContain('verify OK');
      expect(text.toLowerCase()).toContain(`serial number: ${stolen}`);
      expect(text.toLowerCase()).toContain(`serial number: ${oneCert}`);
      expect(text.toLowerCase()).not.toContain(kept);
    }
  });

  it('is readable by viewers only when signed in', async () => {
    expect((await t.api('GET', '/api/v1/crl')).status).toBe(401);
  });
});
