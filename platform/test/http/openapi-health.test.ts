import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/http/operator-app.js';
import { startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

describe('OpenAPI, docs, health and metrics', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(async () => t.close());

  it('lists every /api/v1 route and the health routes in /api/openapi.json', async () => {
    const res = await t.request('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = routesOf(t.platform.operator)
      .filter((r) => (r.url.startsWith('/api/v1') || ['/healthz', '/readyz', '/metrics'].includes(r.url)) && r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(15);
    for (const route of served) expect(documented, `OpenAPI lacks ${route}`).toContain(route);
  });

  it('serves the docs UI at /api/docs', async () => {
    const res = await fetch(`${t.url}/api/docs`, { redirect: 'follow' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('swagger');
  });

  it('answers /healthz and /readyz without auth', async () => {
    expect((await t.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await t.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', parts: { platform: 'ok' } });
  });

  it('exposes Prometheus metrics from the platform’s own registry', async () => {
    await t.request('GET', '/healthz');
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('outpost_process_cpu_user_seconds_total');
    expect(text).toMatch(/outpost_operator_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toContain('outpost_ready{part="platform"} 1');
  });
});
