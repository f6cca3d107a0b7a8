import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, scratch } from '../helpers/openssl.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

describe('end to end with the openssl CLI', () => {
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

  it('enrolls with a key and CSR made by openssl over the device HTTPS listener, and openssl verifies the certificate against the returned chain', async () => {
    openssl(['genrsa', '-out', 'device.key', '2048'], files.dir);
    openssl(['req', '-new', '-key', 'device.key', '-subj', '/CN=e2e-pi-01', '-out', 'device.csr'], files.dir);
    const csr = await readFile(join(files.dir, 'device.csr'), 'utf8');
    const { token } = await t.enrollmentToken({ group: 'e2e' });

    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr } });
    expect(res.status).toBe(201);
    const answer = res.body as { deviceId: string; certificate: string; caChain: string };
    expect(answer.deviceId).toBe('e2e-pi-01');
    const certFile = await files.write('cert.pem', answer.certificate);
    const chainFile = await files.write('chain.pem', answer.caChain);
    expect(openssl(['verify', '-CAfile', chainFile, certFile])).toBe(`${certFile}: OK\n`);
    const subject = openssl(['x509', '-in', certFile, '-noout', '-subject', '-ext', 'extendedKeyUsage']);
    expect(subject).toMatch(/CN ?= ?e2e-pi-01/);
    expect(subject).toContain('TLS Web Client Authentication');

    // The openssl-made key and the issued certificate authenticate a renewal over mTLS.
    openssl(['req', '-new', '-key', 'device.key', '-subj', '/CN=e2e-pi-01', '-out', 'renew.csr'], files.dir);
    const renewed = await t.device('POST', '/device/v1/renew', {
      body: { v: 1, csr: await readFile(join(files.dir, 'renew.csr'), 'utf8') },
      ca: answer.caChain,
      cert: answer.certificate,
      key: await readFile(join(files.dir, 'device.key'), 'utf8'),
    });
    expect(renewed.status).toBe(200);
    const renewedFile = await files.write('renewed.pem', (renewed.body as { certificate: string }).certificate);
    expect(openssl(['verify', '-CAfile', chainFile, renewedFile])).toBe(`${renewedFile}: OK\n`);
  });
});
