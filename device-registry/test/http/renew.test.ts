import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool, selfSignedCertificate, signedRenewal, type TestKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

const DAY = 86_400_000;

interface Answer {
  deviceId: string;
  certificate: string;
  serial: string;
  notAfter: number;
}

async function enroll(t: RegistryPlatform, key: TestKey, id: string): Promise<Answer> {
  const { token } = await t.enrollmentToken();
  const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, id) } });
  if (res.status !== 201) throw new Error(`enroll failed: ${res.text}`);
  return res.body as Answer;
}

describe('POST /device/v1/renew', () => {
  let t: RegistryPlatform;
  let keys: TestKey[];
  const k = (i: number): TestKey => {
    const key = keys[i];
    if (key === undefined) throw new Error(`no key ${i}`);
    return key;
  };
  beforeAll(async () => {
    keys = keyPool(8);
    t = await startRegistryPlatform({ env: { OUTPOST_DEVICE_CERT_DAYS: '30', OUTPOST_RENEW_GRACE_DAYS: '10' } });
  });
  afterAll(async () => t.close());

  it('renews with the current client certificate; the new certificate comes from the active CA and the old one stays valid', async () => {
    const first = await enroll(t, k(0), 'renew-with-cert');
    t.clock.advance(19 * DAY); // 63% into the 30-day lifetime: past the 60% from which a new key is accepted
    const res = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(1), 'renew-with-cert') }, cert: first.certificate, key: k(0).privateKeyPem });
    expect(res.status).toBe(200);
    const renewed = res.body as Answer;
    expect(renewed.deviceId).toBe('renew-with-cert');
    expect(renewed.serial).not.toBe(first.serial);
    expect(t.events.at(-1)).toMatchObject({ type: 'renewed', deviceId: 'renew-with-cert', serial: renewed.serial });
    const audit = await t.api('GET', '/api/v1/audit?action=devices', { token: t.admin });
    expect((audit.body as { items: { actor: string; action: string; target: string }[] }).items.slice(0, 2)).toEqual([
      expect.objectContaining({ actor: 'device:renew-with-cert', action: 'devices.renew', target: `renew-with-cert/${renewed.serial}` }),
      expect.objectContaining({ action: 'devices.enroll', target: `renew-with-cert/${first.serial}` }),
    ]);
    const certs = await t.api('GET', '/api/v1/devices/renew-with-cert/certificates', { token: t.admin });
    expect((certs.body as { items: { serial: string; status: string }[] }).items.map((c) => [c.serial, c.status])).toEqual([
      [renewed.serial, 'valid'],
      [first.serial, 'valid'],
    ]);
  });

  it('refuses a renewal with neither a client certificate nor a signature', async () => {
    const res = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(2)) } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'RENEW_UNAUTHENTICATED' });
  });

  it('refuses a client certificate the platform did not issue', async () => {
    const pem = selfSignedCertificate(k(2), 'renew-with-cert');
    const res = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(3)) }, cert: pem, key: k(2).privateKeyPem });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'RENEW_UNAUTHENTICATED' });
  });

  it('refuses a signed renewal with only some of deviceId, ts and sig', async () => {
    const res = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(2)), deviceId: 'renew-with-cert' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'RENEW_REQUEST_INVALID' });
  });

  it('refuses a signature by another key, and a ts more than five minutes off', async () => {
    await enroll(t, k(4), 'renew-signed');
    const wrongKey = signedRenewal(k(5), { deviceId: 'renew-signed', csr: csrFor(k(5)), ts: t.clock.now() });
    const bad = await t.device('POST', '/device/v1/renew', { body: wrongKey });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ code: 'RENEW_UNAUTHENTICATED' });
    const stale = signedRenewal(k(4), { deviceId: 'renew-signed', csr: csrFor(k(5)), ts: t.clock.now() - 6 * 60_000 });
    const skewed = await t.device('POST', '/device/v1/renew', { body: stale });
    expect(skewed.status).toBe(401);
    expect(skewed.body).toMatchObject({ code: 'RENEW_CLOCK_SKEW' });
  });

  it('refuses renewals of a suspended device, with or without its certificate, until it is resumed', async () => {
    const enrolled = await enroll(t, k(6), 'renew-suspended');
    expect((await t.api('POST', '/api/v1/devices/renew-suspended/suspend', { token: t.admin })).status).toBe(200);
    const withCert = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(7)) }, cert: enrolled.certificate, key: k(6).privateKeyPem });
    expect(withCert.status).toBe(403);
    expect(withCert.body).toMatchObject({ code: 'DEVICE_SUSPENDED' });
    const signed = await t.device('POST', '/device/v1/renew', { body: signedRenewal(k(6), { deviceId: 'renew-suspended', csr: csrFor(k(7)), ts: t.clock.now() }) });
    expect(signed.status).toBe(403);
    expect(signed.body).toMatchObject({ code: 'DEVICE_SUSPENDED' });
    expect((await t.api('POST', '/api/v1/devices/renew-suspended/resume', { token: t.admin })).status).toBe(200);
    t.clock.advance(19 * DAY);
    const resumed = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(7)) }, cert: enrolled.certificate, key: k(6).privateKeyPem });
    expect(resumed.status).toBe(200);
  });
});

describe('grace renewal with the clock moved forward', () => {
  let t: RegistryPlatform;
  let keys: TestKey[];
  const k = (i: number): TestKey => {
    const key = keys[i];
    if (key === undefined) throw new Error(`no key ${i}`);
    return key;
  };
  beforeAll(async () => {
    keys = keyPool(8);
    t = await startRegistryPlatform({ env: { OUTPOST_DEVICE_CERT_DAYS: '30', OUTPOST_RENEW_GRACE_DAYS: '10' } });
  });
  afterAll(async () => t.close());

  it('renews an expired certificate by a request signed with the device key within the grace period, and refuses the rest', async () => {
    const offline = await enroll(t, k(0), 'grace-ok');
    const revoked = await enroll(t, k(1), 'grace-revoked-device');
    const certRevoked = await enroll(t, k(2), 'grace-revoked-cert');
    const late = await enroll(t, k(3), 'grace-too-late');
    expect((await t.api('POST', '/api/v1/devices/grace-revoked-device/revoke', { token: t.admin })).status).toBe(200);
    expect((await t.api('POST', `/api/v1/certificates/${certRevoked.serial}/revoke`, { token: t.admin })).status).toBe(200);

    t.clock.advance(35 * DAY); // every certificate expired five days ago

    const withExpiredCert = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(4)) }, cert: offline.certificate, key: k(0).privateKeyPem });
    expect(withExpiredCert.status).toBe(401);
    expect((withExpiredCert.body as { message: string }).message).toContain('expired');

    const ok = await t.device('POST', '/device/v1/renew', { body: signedRenewal(k(0), { deviceId: 'grace-ok', csr: csrFor(k(4)), ts: t.clock.now() }) });
    expect(ok.status).toBe(200);
    const renewed = ok.body as Answer;
    expect(renewed.notAfter).toBeGreaterThan(t.clock.now() + 29 * DAY);
    expect(renewed.serial).not.toBe(offline.serial);

    const deviceRevoked = await t.device('POST', '/device/v1/renew', { body: signedRenewal(k(1), { deviceId: 'grace-revoked-device', csr: csrFor(k(5)), ts: t.clock.now() }) });
    expect(deviceRevoked.status).toBe(403);
    expect(deviceRevoked.body).toMatchObject({ code: 'DEVICE_REVOKED' });
    void revoked;

    const certWasRevoked = await t.device('POST', '/device/v1/renew', { body: signedRenewal(k(2), { deviceId: 'grace-revoked-cert', csr: csrFor(k(5)), ts: t.clock.now() }) });
    expect(certWasRevoked.status).toBe(403);
    expect(certWasRevoked.body).toMatchObject({ code: 'CERT_REVOKED' });

    t.clock.advance(6 * DAY); // late's certificate expired eleven days ago: past the 10-day grace
    const tooLate = await t.device('POST', '/device/v1/renew', { body: signedRenewal(k(3), { deviceId: 'grace-too-late', csr: csrFor(k(5)), ts: t.clock.now() }) });
    expect(tooLate.status).toBe(403);
    expect(tooLate.body).toMatchObject({ code: 'RENEW_GRACE_EXPIRED' });
    void late;

    t.clock.advance(13 * DAY); // the renewed certificate is 19 of its 30 days old: in its renewal window
    const renewedAgain = await t.device('POST', '/device/v1/renew', { body: { v: 1, csr: csrFor(k(6)) }, cert: renewed.certificate, key: k(4).privateKeyPem });
    expect(renewedAgain.status).toBe(200);
  });
});
