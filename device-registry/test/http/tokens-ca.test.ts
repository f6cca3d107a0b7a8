import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, rsaKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

describe('enrollment tokens, CA and credentials API', () => {
  let t: RegistryPlatform;
  beforeAll(async () => {
    t = await startRegistryPlatform();
  });
  afterAll(async () => t.close());

  it('creates a token whose secret is shown once, with the CA fingerprint and the enroll command', async () => {
    const res = await t.api('POST', '/api/v1/enrollment-tokens', { token: t.admin, body: { group: 'lab', tags: { site: 'a' }, maxUses: 5, ttlSeconds: 86_400 } });
    expect(res.status).toBe(201);
    const body = res.body as { id: string; token: string; expiresAt: number; caFingerprint: string; enrollCommand: string };
    expect(body.token).toMatch(/^oet_[A-Za-z0-9_-]{43}$/);
    expect(body.expiresAt).toBe(t.clock.now() + 86_400_000);
    const ca = await t.api('GET', '/api/v1/ca', { token: t.admin });
    const { chainPem, fingerprint } = ca.body as { chainPem: string; fingerprint: string };
    expect(body.caFingerprint).toBe(fingerprint);
    const der = new X509Certificate(chainPem).raw;
    expect(fingerprint).toBe(`sha256:${createHash('sha256').update(der).digest('hex')}`);
    expect(body.enrollCommand).toBe(`outpost-agent enroll --server ${t.deviceUrl} --token ${body.token} --ca-fingerprint ${fingerprint}`);

    const list = await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin });
    expect(list.text).not.toContain(body.token);
    expect((list.body as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({ id: body.id, group: 'lab', tags: { site: 'a' }, maxUses: 5, uses: 0, state: 'active', createdBy: 'admin', revokedAt: null }),
    );
    const audit = await t.api('GET', '/api/v1/audit?action=enrollment-tokens', { token: t.admin });
    expect((audit.body as { items: { action: string; target: string }[] }).items[0]).toMatchObject({ action: 'enrollment-tokens.create', target: body.id });
  });

  it('validates token creation and lets operators (not viewers) create tokens', async () => {
    expect((await t.api('POST', '/api/v1/enrollment-tokens', { token: t.admin, body: { group: 'lab', maxUses: 0, ttlSeconds: 60 } })).status).toBe(400);
    expect((await t.api('POST', '/api/v1/enrollment-tokens', { token: t.admin, body: { group: 'bad group', maxUses: 1, ttlSeconds: 60 } })).status).toBe(400);
    const operator = await t.userToken('operator');
    expect((await t.api('POST', '/api/v1/enrollment-tokens', { token: operator, body: { group: 'lab', maxUses: 1, ttlSeconds: 60 } })).status).toBe(201);
    const viewer = await t.userToken('viewer');
    expect((await t.api('GET', '/api/v1/enrollment-tokens', { token: viewer })).status).toBe(200);
    expect((await t.api('POST', '/api/v1/enrollment-tokens', { token: viewer, body: { group: 'lab', maxUses: 1, ttlSeconds: 60 } })).status).toBe(403);
    expect((await t.api('DELETE', '/api/v1/enrollment-tokens/et_unknown', { token: operator })).status).toBe(404);
    expect((await t.api('POST', '/api/v1/ca/rotate', { token: operator })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/credentials', { token: operator, body: { name: 'x', role: 'integration' } })).status).toBe(403);
  });

  it('serves the CA chain on the device listener too', async () => {
    const res = await t.device('GET', '/device/v1/ca');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-pem-file');
    expect(res.text).toBe(await t.chain());
  });

  it('issues an integration certificate with a server-made key, shown once', async () => {
    const res = await t.api('POST', '/api/v1/credentials', { token: t.admin, body: { name: 'grafana-bridge', role: 'integration' } });
    expect(res.status).toBe(201);
    const body = res.body as { certificate: string; privateKey: string; serial: string; caChain: string };
    const cert = new X509Certificate(body.certificate);
    expect(cert.subject).toContain('CN=grafana-bridge');
    expect(cert.subject).toContain('OU=integration');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(body.privateKey))).toBe(true);
    expect(cert.verify(new X509Certificate(body.caChain).publicKey)).toBe(true);
    const revoke = await t.api('POST', `/api/v1/certificates/${body.serial}/revoke`, { token: t.admin });
    expect(revoke.body).toMatchObject({ kind: 'integration', status: 'revoked' });
  });

  it('issues an integration certificate for a CSR, returning no key', async () => {
    const key = rsaKey();
    const res = await t.api('POST', '/api/v1/credentials', { token: t.admin, body: { name: 'node-red', role: 'integration', csr: csrFor(key, 'node-red') } });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('privateKey');
    const cert = new X509Certificate((res.body as { certificate: string }).certificate);
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(key.publicKeyPem);
    const bad = await t.api('POST', '/api/v1/credentials', { token: t.admin, body: { name: 'node-red', role: 'integration', csr: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'CSR_PEM_INVALID' });
  });

  it('documents every registry route in the OpenAPI document', async () => {
    const res = await t.api('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const paths = Object.keys((res.body as { paths: Record<string, unknown> }).paths);
    for (const path of ['/api/v1/enrollment-tokens', '/api/v1/devices', '/api/v1/devices/{id}', '/api/v1/devices/{id}/config', '/api/v1/devices/{id}/commands', '/api/v1/groups', '/api/v1/ca/rotate', '/api/v1/credentials', '/api/v1/crl']) {
      expect(paths).toContain(path);
    }
  });
});
