import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, serverParts, type TestPlatform } from '@outpost/e2e';

describe('the ota part in outpost server', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startPlatform({ parts: serverParts() });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is composed after the broker and before alerts, and ready', async () => {
    const res = await fetch(`${t.operatorUrl}/readyz`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(JSON.stringify(body)).toContain('"ota"');
    const names = Object.keys(t.platform.readiness());
    expect(names.indexOf('ota')).toBeGreaterThan(names.indexOf('broker'));
    expect(names.indexOf('ota')).toBeLessThan(names.indexOf('alerts'));
    expect(t.platform.readiness()['ota']).toBe('ok');
  });

  it('documents its routes in the OpenAPI document', async () => {
    const res = await fetch(`${t.operatorUrl}/api/openapi.json`);
    expect(res.status).toBe(200);
    const paths = Object.keys(((await res.json()) as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/signing-keys', '/api/v1/signing-keys/{keyId}', '/api/v1/firmware', '/api/v1/firmware/{id}']));
  });
});
