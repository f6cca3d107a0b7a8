import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool, type TestKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

interface DeviceBody {
  id: string;
  status: string;
  group: string;
  tags: Record<string, string>;
  online: boolean;
  certificates?: { serial: string; status: string }[];
  certificateExpiresAt?: number | null;
}
type Page<T> = { items: T[]; nextCursor?: string };

describe('devices API', () => {
  let t: RegistryPlatform;
  let keys: TestKey[];
  const serials = new Map<string, string>();

  async function enroll(id: string, group: string, tags: Record<string, string>, key: TestKey): Promise<void> {
    const { token } = await t.enrollmentToken({ group, tags });
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, id) } });
    if (res.status !== 201) throw new Error(res.text);
    serials.set(id, (res.body as { serial: string }).serial);
  }

  beforeAll(async () => {
    keys = keyPool(5);
    t = await startRegistryPlatform();
    const [a, b, c, d, e] = keys;
    if (a === undefined || b === undefined || c === undefined || d === undefined || e === undefined) throw new Error('keys');
    await enroll('alpha-001', 'greenhouse', { site: 'north', role: 'sensor' }, a);
    await enroll('alpha-002', 'greenhouse', { site: 'south' }, b);
    await enroll('beta-001', 'barn', { site: 'north' }, c);
    await enroll('beta-002', 'barn', {}, d);
    await enroll('gamma-001', 'barn', {}, e);
    await t.port.recordStatus('alpha-001', { online: true, at: t.clock.now(), agentVersion: '1.2.0', firmware: { name: 'core', version: '2.0.0', slot: 'a' } });
  });
  afterAll(async () => t.close());

  const ids = async (query: string, token = t.admin): Promise<string[]> => {
    const res = await t.api('GET', `/api/v1/devices${query}`, { token });
    expect(res.status).toBe(200);
    return (res.body as Page<DeviceBody>).items.map((d) => d.id);
  };

  it("keeps the outbox figures of a device's latest DeviceStatus and shows them", async () => {
    const before = await t.api('GET', '/api/v1/devices/alpha-002', { token: t.admin });
    expect((before.body as { outbox: unknown }).outbox).toBeNull();
    const at = t.clock.now();
    await t.port.recordStatus('alpha-002', { online: true, at, agentVersion: '1.2.0', outbox: { depth: 4, bytes: 900, dropped: 1, refused: 0 } });
    await t.port.recordStatus('alpha-002', { online: true, at: at + 1, agentVersion: '1.2.0', outbox: { depth: 3, bytes: 2048, dropped: 2, droppedSamples: 14, refused: 1, maxBytes: 4096 } });
    const res = await t.api('GET', '/api/v1/devices/alpha-002', { token: t.admin });
    expect(res.status).toBe(200);
    expect((res.body as { outbox: unknown }).outbox).toEqual({ depth: 3, bytes: 2048, dropped: 2, droppedSamples: 14, refused: 1, maxBytes: 4096, at: at + 1 });
    // An offline last will carries no figures: the last ones stay.
    await t.port.recordStatus('alpha-002', { online: false, at: at + 2 });
    const offline = await t.api('GET', '/api/v1/devices/alpha-002', { token: t.admin });
    expect(offline.body).toMatchObject({ online: false, outbox: { depth: 3, at: at + 1 } });
  });

  it('lists devices with every filter', async () => {
    expect(await ids('')).toEqual(['alpha-001', 'alpha-002', 'beta-001', 'beta-002', 'gamma-001']);
    expect(await ids('?group=barn')).toEqual(['beta-001', 'beta-002', 'gamma-001']);
    expect(await ids('?tag=site=north')).toEqual(['alpha-001', 'beta-001']);
    expect(await ids('?tag=site=north&tag=role=sensor')).toEqual(['alpha-001']);
    expect(await ids('?tag=role')).toEqual(['alpha-001']);
    expect(await ids('?online=true')).toEqual(['alpha-001']);
    expect(await ids('?online=false&group=greenhouse')).toEqual(['alpha-002']);
    expect(await ids('?firmware=core@2.0.0')).toEqual(['alpha-001']);
    expect(await ids('?firmware=2.0.0')).toEqual(['alpha-001']);
    expect(await ids('?q=beta')).toEqual(['beta-001', 'beta-002']);
    expect(await ids('?q=green')).toEqual(['alpha-001', 'alpha-002']);
    expect(await ids('?q=%25')).toEqual([]);
    expect(await ids('?status=active')).toHaveLength(5);
  });

  it('paginates with limit and cursor', async () => {
    const first = await t.api('GET', '/api/v1/devices?limit=2', { token: t.admin });
    const page1 = first.body as Page<DeviceBody>;
    expect(page1.items.map((d) => d.id)).toEqual(['alpha-001', 'alpha-002']);
    expect(page1.nextCursor).toBeDefined();
    const second = await t.api('GET', `/api/v1/devices?limit=2&cursor=${page1.nextCursor ?? ''}`, { token: t.admin });
    expect((second.body as Page<DeviceBody>).items.map((d) => d.id)).toEqual(['beta-001', 'beta-002']);
  });

  it('refuses a bad tag filter and an unknown query parameter', async () => {
    expect((await t.api('GET', '/api/v1/devices?tag=%21bad', { token: t.admin })).status).toBe(400);
    expect((await t.api('GET', '/api/v1/devices?colour=red', { token: t.admin })).status).toBe(400);
  });

  it('shows a device with its certificates and their expiry; 404 for an unknown one', async () => {
    const res = await t.api('GET', '/api/v1/devices/alpha-001', { token: t.admin });
    const body = res.body as DeviceBody & { agentVersion: string; firmware: unknown };
    expect(body).toMatchObject({ id: 'alpha-001', online: true, agentVersion: '1.2.0', firmware: { name: 'core', version: '2.0.0', slot: 'a' } });
    expect(body.certificates).toEqual([expect.objectContaining({ serial: serials.get('alpha-001'), status: 'valid' })]);
    expect(body.certificateExpiresAt).toBeGreaterThan(t.clock.now());
    const missing = await t.api('GET', '/api/v1/devices/no-such-device', { token: t.admin });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });

  it('patches group, tags and metadata, creating the group and emitting events', async () => {
    const before = t.events.length;
    const res = await t.api('PATCH', '/api/v1/devices/beta-002', { token: t.admin, body: { group: 'orchard', tags: { row: '7' }, metadata: { note: 'by the gate' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ group: 'orchard', tags: { row: '7' }, metadata: { note: 'by the gate' } });
    expect(t.events.slice(before).map((e) => [e.type, e.deviceId, e.group])).toEqual([
      ['group-changed', 'beta-002', 'orchard'],
      ['tags-changed', 'beta-002', undefined],
    ]);
    const groups = await t.api('GET', '/api/v1/groups', { token: t.admin });
    expect((groups.body as Page<{ name: string; devices: number }>).items).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'orchard', devices: 1 }), expect.objectContaining({ name: 'barn', devices: 2 })]),
    );
    expect((await t.api('PATCH', '/api/v1/devices/beta-002', { token: t.admin, body: {} })).status).toBe(400);
    const put = await t.api('PUT', '/api/v1/groups/orchard', { token: t.admin, body: { description: 'apple trees' } });
    expect(put.body).toMatchObject({ name: 'orchard', description: 'apple trees' });
  });

  it('suspends, resumes, revokes and deletes, with the events of SPEC', async () => {
    const before = t.events.length;
    const suspended = await t.api('POST', '/api/v1/devices/alpha-002/suspend', { token: t.admin });
    expect(suspended.body).toMatchObject({ status: 'suspended' });
    expect((await t.api('POST', '/api/v1/devices/alpha-002/suspend', { token: t.admin })).status).toBe(200);
    expect(await t.port.checkCertificate('alpha-002', serials.get('alpha-002') ?? '')).toMatchObject({ ok: false, code: 'DEVICE_SUSPENDED' });
    expect((await t.api('POST', '/api/v1/devices/alpha-002/resume', { token: t.admin })).body).toMatchObject({ status: 'active' });
    expect(await t.port.checkCertificate('alpha-002', serials.get('alpha-002') ?? '')).toMatchObject({ ok: true });

    const revoked = await t.api('POST', '/api/v1/devices/alpha-002/revoke', { token: t.admin });
    expect(revoked.body).toMatchObject({ status: 'revoked' });
    expect(await t.port.isSerialRevoked(serials.get('alpha-002') ?? '')).toBe(true);
    const resume = await t.api('POST', '/api/v1/devices/alpha-002/resume', { token: t.admin });
    expect(resume.status).toBe(409);
    expect(resume.body).toMatchObject({ code: 'DEVICE_STATE_CONFLICT' });

    expect((await t.api('DELETE', '/api/v1/devices/gamma-001', { token: t.admin })).status).toBe(204);
    expect(await ids('')).not.toContain('gamma-001');
    expect(await ids('?status=decommissioned')).toEqual(['gamma-001']);
    expect(await t.port.isSerialRevoked(serials.get('gamma-001') ?? '')).toBe(true);

    expect(t.events.slice(before).map((e) => [e.type, e.deviceId, e.serial])).toEqual([
      ['suspended', 'alpha-002', undefined],
      ['resumed', 'alpha-002', undefined],
      ['cert-revoked', 'alpha-002', serials.get('alpha-002')],
      ['revoked', 'alpha-002', undefined],
      ['cert-revoked', 'gamma-001', serials.get('gamma-001')],
      ['deleted', 'gamma-001', undefined],
    ]);
  });

  it('lets a deleted device id be enrolled again, but not a revoked one', async () => {
    const { token } = await t.enrollmentToken({ group: 'barn' });
    const key = keys[4];
    if (key === undefined) throw new Error('key');
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, 'gamma-001') } });
    expect(res.status).toBe(201);
    expect((await t.api('GET', '/api/v1/devices/gamma-001', { token: t.admin })).body).toMatchObject({ status: 'active' });
    const other = keys[3];
    if (other === undefined) throw new Error('key');
    const revokedId = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(other, 'alpha-002') } });
    expect(revokedId.status).toBe(409);
  });

  it('revokes one certificate by serial (any case) and emits cert-revoked', async () => {
    const serial = serials.get('beta-001') ?? '';
    const res = await t.api('POST', `/api/v1/certificates/${serial.toUpperCase()}/revoke`, { token: t.admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ serial, status: 'revoked' });
    expect(t.events.at(-1)).toMatchObject({ type: 'cert-revoked', deviceId: 'beta-001', serial });
    expect((await t.api('GET', '/api/v1/devices/beta-001', { token: t.admin })).body).toMatchObject({ status: 'active', certificateExpiresAt: null });
    expect((await t.api('POST', '/api/v1/certificates/abcdef/revoke', { token: t.admin })).status).toBe(404);
  });

  it('gives viewers read access only', async () => {
    const viewer = await t.userToken('viewer');
    expect(await ids('', viewer)).toContain('alpha-001');
    for (const [method, path] of [
      ['POST', '/api/v1/devices/alpha-001/suspend'],
      ['DELETE', '/api/v1/devices/alpha-001'],
      ['PATCH', '/api/v1/devices/alpha-001'],
      ['POST', '/api/v1/enrollment-tokens'],
      ['POST', '/api/v1/ca/rotate'],
    ] as const) {
      const res = await t.api(method, path, { token: viewer, body: { group: 'x', maxUses: 1, ttlSeconds: 60 } });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect((await t.api('GET', '/api/v1/devices')).status).toBe(401);
  });

  it('audits mutating calls', async () => {
    const res = await t.api('GET', '/api/v1/audit?action=devices', { token: t.admin });
    const actions = (res.body as Page<{ action: string; target: string }>).items.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(expect.arrayContaining(['devices.suspend alpha-002', 'devices.revoke alpha-002', 'devices.delete gamma-001', 'devices.update beta-002']));
  });
});
