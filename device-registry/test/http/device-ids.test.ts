import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, keyPool } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

describe('registry port: deviceIds', () => {
  let t: RegistryPlatform;

  beforeAll(async () => {
    t = await startRegistryPlatform();
    const devices: [string, string, Record<string, string>][] = [
      ['north-002', 'greenhouse', { site: 'north', role: 'sensor' }],
      ['north-001', 'greenhouse', { site: 'north' }],
      ['south-001', 'greenhouse', { site: 'south' }],
      ['barn-001', 'barn', { site: 'north' }],
      ['gone-001', 'barn', {}],
    ];
    const keys = keyPool(devices.length);
    for (const [i, [id, group, tags]] of devices.entries()) {
      const key = keys[i];
      if (key === undefined) throw new Error('key pool too small');
      const { token } = await t.enrollmentToken({ group, tags });
      const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(key, id) } });
      if (res.status !== 201) throw new Error(res.text);
    }
    const deleted = await t.api('DELETE', '/api/v1/devices/gone-001', { token: t.admin });
    if (deleted.status !== 204) throw new Error(`delete answered ${deleted.status}: ${deleted.text}`);
  });
  afterAll(async () => t.close());

  it('answers every device but deleted ones, in id order, without a filter', async () => {
    expect(await t.port.deviceIds({})).toEqual(['barn-001', 'north-001', 'north-002', 'south-001']);
  });

  it("answers a group's devices", async () => {
    expect(await t.port.deviceIds({ group: 'greenhouse' })).toEqual(['north-001', 'north-002', 'south-001']);
    expect(await t.port.deviceIds({ group: 'barn' })).toEqual(['barn-001']);
    expect(await t.port.deviceIds({ group: 'nowhere' })).toEqual([]);
  });

  it('narrows by every tag given, and by group and tags together', async () => {
    expect(await t.port.deviceIds({ tags: { site: 'north' } })).toEqual(['barn-001', 'north-001', 'north-002']);
    expect(await t.port.deviceIds({ tags: { site: 'north', role: 'sensor' } })).toEqual(['north-002']);
    expect(await t.port.deviceIds({ group: 'greenhouse', tags: { site: 'north' } })).toEqual(['north-001', 'north-002']);
    expect(await t.port.deviceIds({ tags: { site: "north' OR 1=1 --" } })).toEqual([]);
  });

  it('follows a group change', async () => {
    const moved = await t.api('PATCH', '/api/v1/devices/south-001', { token: t.admin, body: { group: 'barn' } });
    expect(moved.status).toBe(200);
    expect(await t.port.deviceIds({ group: 'barn' })).toEqual(['barn-001', 'south-001']);
  });
});
