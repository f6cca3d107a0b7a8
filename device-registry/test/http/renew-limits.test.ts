/**
 * Issue 11, D5: one device certificate minted 300 valid certificates in 4.5 s over mTLS.
 * Renewals are now rate-limited per device, refused with a new key while the current
 * certificate is not near its renewal time (the same key answers it again), and revoking a
 * serial revokes every certificate renewed from it — live (one cert-revoked event per serial)
 * and in the CRL. Everything goes over real mTLS to the device listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool, type TestKey } from '../helpers/keys.js';
import { openssl, scratch } from '../helpers/openssl.js';
import { startRegistryPlatform, type DeviceAnswer, type RegistryPlatform } from '../helpers/registry-platform.js';

const DAY = 86_400_000;
const BURST = 20;
const RATE_LIMIT = 5;

interface Answer {
  deviceId: string;
  certificate: string;
  serial: string;
  notAfter: number;
}

describe('renewal limits (30-day certificates, new keys from 60%, 5 renewals per device per hour)', () => {
  let t: RegistryPlatform;
  let files: Awaited<ReturnType<typeof scratch>>;
  let keys: TestKey[];
  const k = (i: number): TestKey => {
    const key = keys[i];
    if (key === undefined) throw new Error(`no key ${i}`);
    return key;
  };
  const enroll = async (key: TestKey, id: string): Promise<Answer> => {
    const { token } = await t.enrollmentToken();
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, id) } });
    if (res.status !== 201) throw new Error(`enroll failed: ${res.text}`);
    return res.body as Answer;
  };
  const renew = (cert: Answer, certKey: TestKey, csrKey: TestKey): Promise<DeviceAnswer> =>
    t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(csrKey, cert.deviceId) }, cert: cert.certificate, key: certKey.privateKeyPem });
  const certificatesOf = async (deviceId: string): Promise<{ serial: string; status: string }[]> =>
    ((await t.api('GET', `/api/v1/devices/${deviceId}/certificates`, { token: t.admin })).body as { items: { serial: string; status: string }[] }).items;

  beforeAll(async () => {
    keys = keyPool(6);
    files = await scratch();
    t = await startRegistryPlatform({
      env: { OUTPOST_DEVICE_CERT_DAYS: '30', OUTPOST_RENEW_RATE_LIMIT: String(RATE_LIMIT), OUTPOST_RENEW_RATE_WINDOW: '1h', OUTPOST_ENROLL_RATE_LIMIT: '100000' },
    });
  });
  afterAll(async () => {
    await t.close();
    await files.cleanup();
  });

  it('before the renewal window: a new key is refused with 409 and Retry-After, the same key gets the current certificate again', async () => {
    const first = await enroll(k(0), 'limit-early');
    const newKey = await renew(first, k(0), k(1));
    expect(newKey.status).toBe(409);
    expect(newKey.body).toMatchObject({ code: 'RENEW_TOO_EARLY' });
    expect((newKey.body as { message: string }).message).toContain(`already holds certificate ${first.serial}`);
    const retryAfter = Number(newKey.headers['retry-after']);
    // The window opens 18 of 30 days in (notBefore is backdated a little for clock skew).
    expect(retryAfter).toBeGreaterThan(18 * 86_400 - 600);
    expect(retryAfter).toBeLessThanOrEqual(18 * 86_400);

    const sameKey = await renew(first, k(0), k(0));
    expect(sameKey.status).toBe(200);
    expect((sameKey.body as Answer).serial).toBe(first.serial);
    expect(await certificatesOf('limit-early')).toHaveLength(1);
  });

  it('in the renewal window, a burst of renewals from one certificate gets one new certificate and then refusals', async () => {
    const first = await enroll(k(0), 'limit-burst');
    t.clock.advance(19 * DAY);
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => renew(first, k(0), k(1 + (i % 2)))));
    const issued = new Set(answers.filter((a) => a.status === 200).map((a) => (a.body as Answer).serial));
    expect(issued.size).toBe(1);
    expect(issued.has(first.serial)).toBe(false);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(BURST - RATE_LIMIT);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect([409, 429]).toContain(refused.status);
      expect((refused.body as { code: string }).code).toBe(refused.status === 429 ? 'RENEW_RATE_LIMITED' : 'RENEW_TOO_EARLY');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    const limited = answers.find((a) => a.status === 429);
    expect((limited?.body as { message: string }).message).toMatch(/too many renewals of device limit-burst; retry in \d+ s/);
    expect((await certificatesOf('limit-burst')).map((c) => c.serial).sort()).toEqual([first.serial, ...issued].sort());

    // After the rate window the device is still not due again: no second new certificate.
    t.clock.advance(3_600_000 + 1_000);
    const later = await renew(first, k(0), k(3));
    expect(later.status).toBe(409);
    expect(await certificatesOf('limit-burst')).toHaveLength(2);
  });

  it('revoking a serial revokes every certificate renewed from it: events per serial, the CRL, and further renewals', async () => {
    const a = await enroll(k(0), 'lineage');
    const unrelated = await enroll(k(5), 'lineage-other');
    t.clock.advance(19 * DAY);
    const bAnswer = await renew(a, k(0), k(1));
    expect(bAnswer.status).toBe(200);
    const b = bAnswer.body as Answer;
    t.clock.advance(19 * DAY); // a has expired; b is 19 of 30 days old
    const cAnswer = await renew(b, k(1), k(2));
    expect(cAnswer.status).toBe(200);
    const c = cAnswer.body as Answer;
    // A side branch from b, revoked separately below, keeps its ancestors valid.
    const eventsBefore = t.events.length;

    const revoked = await t.api('POST', `/api/v1/certificates/${a.serial}/revoke`, { token: t.admin });
    expect(revoked.status).toBe(200);
    const certRevoked = t.events.slice(eventsBefore).filter((e) => e.type === 'cert-revoked');
    expect(certRevoked.map((e) => [e.deviceId, e.serial])).toEqual([
      ['lineage', a.serial],
      ['lineage', b.serial],
      ['lineage', c.serial],
    ]);
    expect((await certificatesOf('lineage')).map((x) => x.status)).toEqual(['revoked', 'revoked', 'revoked']);

    const crl = await files.write('lineage-crl.pem', (await t.device('GET', '/device/v1/crl')).text);
    const caFile = await files.write('lineage-ca.pem', await t.chain());
    const text = openssl(['crl', '-in', crl, '-CAfile', caFile, '-noout', '-text']).toLowerCase();
    expect(text).toContain('verify ok');
    // a expired before it was revoked: the CRL lists unexpired certificates only.
    expect(text).toContain(`serial number: ${b.serial}`);
    expect(text).toContain(`serial number: ${c.serial}`);
    expect(text).not.toContain(unrelated.serial);

    const withC = await renew(c, k(2), k(3));
    expect(withC.status).toBe(403);
    expect(withC.body).toMatchObject({ code: 'CERT_REVOKED' });
  });

  it('revoking a renewed certificate leaves the one it was renewed from valid', async () => {
    const parent = await enroll(k(3), 'lineage-child');
    t.clock.advance(19 * DAY);
    const child = (await renew(parent, k(3), k(4))).body as Answer;
    expect((await t.api('POST', `/api/v1/certificates/${child.serial}/revoke`, { token: t.admin })).status).toBe(200);
    expect(Object.fromEntries((await certificatesOf('lineage-child')).map((x) => [x.serial, x.status]))).toEqual({ [parent.serial]: 'valid', [child.serial]: 'revoked' });
  });
});
