import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, ecCsr, keyPool, rsaKey, tamperedCsr, type TestKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

interface Enrolled {
  deviceId: string;
  certificate: string;
  caChain: string;
  serial: string;
  notAfter: number;
  renewAfter: number;
  mqttUrl: string;
  deviceApiUrl: string;
  trust: unknown;
  limits: Record<string, number>;
}

describe('POST /device/v1/enroll', () => {
  let t: RegistryPlatform;
  let keys: TestKey[];
  let next = 0;
  const key = (): TestKey => {
    const k = keys[next++ % keys.length];
    if (k === undefined) throw new Error('no key');
    return k;
  };
  beforeAll(async () => {
    keys = keyPool(6);
    t = await startRegistryPlatform({ env: { OUTPOST_DEVICE_CERT_DAYS: '30' }, part: { randomSuffix: (() => { let n = 0; return () => `${(n++).toString(16).padStart(8, '0')}`; })() } });
  });
  afterAll(async () => t.close());

  it('enrolls a device with a token and a CSR, over HTTPS, and answers everything the agent needs', async () => {
    const { token } = await t.enrollmentToken({ group: 'greenhouse', tags: { site: 'north' } });
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key(), 'pi-greenhouse-1'), hardware: 'rpi4', agentVersion: '1.0.0' } });
    expect(res.status).toBe(201);
    const body = res.body as Enrolled;
    expect(body.deviceId).toBe('pi-greenhouse-1');
    expect(body.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(body.caChain).toBe(await t.chain());
    expect(body.mqttUrl).toBe('mqtts://127.0.0.1:0');
    expect(body.deviceApiUrl).toBe(t.deviceUrl);
    expect(body.trust).toEqual({ v: 1, version: 0, keys: [], signatures: [] });
    expect(body.limits).toEqual({ maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 });
    expect(body.renewAfter).toBeGreaterThan(t.clock.now());
    expect(body.renewAfter).toBeLessThan(body.notAfter);
    expect(res.peerCn).toBe('localhost');

    const shown = await t.api('GET', '/api/v1/devices/pi-greenhouse-1', { token: t.admin });
    expect(shown.body).toMatchObject({ id: 'pi-greenhouse-1', status: 'active', group: 'greenhouse', tags: { site: 'north' }, hardware: 'rpi4', agentVersion: '1.0.0', online: false });
    expect(t.events.at(-1)).toMatchObject({ v: 1, type: 'enrolled', deviceId: 'pi-greenhouse-1', serial: body.serial, group: 'greenhouse' });
  });

  it('renewAfter is two thirds into the certificate lifetime', async () => {
    const { token } = await t.enrollmentToken();
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } });
    const body = res.body as Enrolled;
    const certs = await t.api('GET', `/api/v1/devices/${body.deviceId}/certificates`, { token: t.admin });
    const [cert] = (certs.body as { items: { notBefore: number; notAfter: number }[] }).items;
    expect(cert).toBeDefined();
    if (cert === undefined) return;
    expect(body.renewAfter).toBe(cert.notBefore + Math.floor(((cert.notAfter - cert.notBefore) * 2) / 3));
    expect(cert.notAfter - cert.notBefore).toBe(30 * 86_400_000 + 5 * 60_000);
  });

  it('assigns an id from the token prefix or the group when the CSR proposes none or an invalid one', async () => {
    const { token } = await t.enrollmentToken({ group: 'Lab_Pis' });
    const noCn = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } });
    expect((noCn.body as Enrolled).deviceId).toMatch(/^lab-pis-[0-9a-f]{8}$/);
    const badCn = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key(), 'Not A Valid Id!') } });
    expect((badCn.body as Enrolled).deviceId).toMatch(/^lab-pis-[0-9a-f]{8}$/);
    const prefixed = await t.enrollmentToken({ group: 'lab', deviceIdPrefix: 'sensor' });
    const withPrefix = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token: prefixed.token, csr: csrFor(key()) } });
    expect((withPrefix.body as Enrolled).deviceId).toMatch(/^sensor-[0-9a-f]{8}$/);
  });

  it('refuses a CN that belongs to another device with 409', async () => {
    const { token } = await t.enrollmentToken();
    const first = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key(), 'taken-id') } });
    expect(first.status).toBe(201);
    const second = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key(), 'taken-id') } });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'DEVICE_ID_CONFLICT' });
  });

  it('answers the same device and certificate to a retry of the same CSR, without burning a use', async () => {
    const created = await t.enrollmentToken({ maxUses: 1 });
    const csr = csrFor(key(), 'retry-device');
    const first = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token: created.token, csr } });
    const again = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token: created.token, csr } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect((again.body as Enrolled).deviceId).toBe('retry-device');
    expect((again.body as Enrolled).serial).toBe((first.body as Enrolled).serial);
    const tokens = await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin });
    const info = (tokens.body as { items: { id: string; uses: number; state: string }[] }).items.find((i) => i.id === created.id);
    expect(info).toMatchObject({ uses: 1, state: 'used-up' });
    const other = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token: created.token, csr: csrFor(key(), 'another-device') } });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'ENROLL_TOKEN_USED_UP' });
  });

  describe('refuses bad tokens with a clear code', () => {
    it('unknown → 401', async () => {
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token: 'oet_nope', csr: csrFor(key()) } });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'ENROLL_TOKEN_UNAUTHENTICATED' });
    });

    it('expired → 403', async () => {
      const { token } = await t.enrollmentToken({ ttlSeconds: 60 });
      t.clock.advance(61_000);
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'ENROLL_TOKEN_EXPIRED' });
      expect((res.body as { message: string }).message).toContain('expired');
    });

    it('used up → 403', async () => {
      const { token } = await t.enrollmentToken({ maxUses: 1 });
      expect((await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } })).status).toBe(201);
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'ENROLL_TOKEN_USED_UP' });
    });

    it('revoked → 403', async () => {
      const { id, token } = await t.enrollmentToken();
      expect((await t.api('DELETE', `/api/v1/enrollment-tokens/${id}`, { token: t.admin })).status).toBe(204);
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key()) } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'ENROLL_TOKEN_REVOKED' });
    });
  });

  describe('refuses bad CSRs with 400 and the reason', () => {
    const cases: [string, () => string, string][] = [
      ['not PEM at all', () => 'hello', 'CSR_PEM_INVALID'],
      ['PEM with garbage inside', () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'CSR_PEM_INVALID'],
      ['a bad signature', () => tamperedCsr(csrFor(rsaKey(2048), 'tampered')), 'CSR_SIGNATURE_INVALID'],
      ['an RSA-1024 key', () => csrFor(rsaKey(1024), 'small-key'), 'CSR_KEY_TOO_SMALL'],
      ['an EC key', () => ecCsr(), 'CSR_KEY_UNSUPPORTED'],
    ];
    for (const [what, csr, code] of cases) {
      it(what, async () => {
        const { id, token } = await t.enrollmentToken({ maxUses: 1 });
        const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csr() } });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code });
        expect((res.body as { message: string }).message.length).toBeGreaterThan(5);
        const tokens = await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin });
        expect((tokens.body as { items: { id: string; uses: number }[] }).items.find((i) => i.id === id)?.uses).toBe(0);
      });
    }
  });

  it('refuses a body that breaks the schema', async () => {
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 2, token: 'x', csr: 'y' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('enrollment rate limit', () => {
  it('answers 429 with retry-after once a client IP exceeds its budget', async () => {
    const t = await startRegistryPlatform({ part: { enrollRateLimit: { limit: 2, windowMs: 60_000 } } });
    try {
      const body = { v: 1, token: 'oet_unknown', csr: 'x' };
      expect((await t.device('POST', '/device/v1/enroll', { body })).status).toBe(401);
      expect((await t.device('POST', '/device/v1/enroll', { body })).status).toBe(401);
      const limited = await t.device('POST', '/device/v1/enroll', { body });
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ code: 'ENROLL_RATE_LIMITED' });
      expect(limited.headers['retry-after']).toBe('60');
      t.clock.advance(60_000);
      expect((await t.device('POST', '/device/v1/enroll', { body })).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
