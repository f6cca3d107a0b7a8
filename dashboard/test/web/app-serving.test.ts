/**
 * The built web app on the operator listener (issue 14): `/` and every app path answer
 * index.html (no-cache, the page CSP, no framing); hashed assets are immutable and gzip when
 * asked; unknown assets and API paths never fall back to the app; before a build, 503.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform, type TestPlatform } from '@outpost/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardPart } from '../../src/index.js';
import { builtApp } from './built-app.js';

describe('the web app as the dashboard part serves it', () => {
  let env: TestPlatform;
  let unbuilt: TestPlatform;
  let emptyDir: string;

  beforeAll(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), 'outpost-no-app-'));
    env = await startPlatform({ parts: [createRegistryPart(), createDashboardPart()], dirPrefix: 'outpost-app-' });
    unbuilt = await startPlatform({ parts: [createRegistryPart(), createDashboardPart({ appDir: emptyDir })], dirPrefix: 'outpost-app-' });
  });
  afterAll(async () => {
    await env?.close();
    await unbuilt?.close();
    await rm(emptyDir, { recursive: true, force: true });
  });

  it.each(['/', '/login', '/alerts', '/rules', '/enrollment', '/users', '/devices/pi-01'])('answers index.html at %s, revalidated on every load, under the page CSP', async (path) => {
    const res = await fetch(`${env.operatorUrl}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<div id="app"></div>');
    // Nothing inline for the CSP to block: the only script is the hashed entry.
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves every hashed asset immutable for a year, gzip when the browser accepts it', async () => {
    const app = await builtApp();
    expect(app.assets.length).toBeGreaterThan(1);
    for (const asset of app.assets) {
      const res = await fetch(`${env.operatorUrl}/assets/${asset.name}`, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toMatch(asset.name.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(Buffer.from(await res.arrayBuffer()).equals(asset.body)).toBe(true);
    }
    const entry = app.assets.find((a) => a.name === app.entry);
    if (entry === undefined) throw new Error('no entry chunk');
    const zipped = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      // fetch() would unzip for us: read the raw bytes with node:http.
      import('node:http').then(({ get }) => {
        get(`${env.operatorUrl}/assets/${entry.name}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject);
      }, reject);
    });
    expect(zipped.encoding).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(entry.body.length / 2);
    expect(gunzipSync(zipped.body).equals(entry.body)).toBe(true);
  });

  it('answers 404 for an unknown asset and never the app for API or other paths', async () => {
    for (const path of ['/assets/index-nothere.js', '/api/v1/nothing', '/devices', '/devices/pi-01/extra', '/nope']) {
      const res = await fetch(`${env.operatorUrl}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { code: string }).code, path).toBe('NOT_FOUND');
    }
    const api = await fetch(`${env.operatorUrl}/api/v1/devices`);
    expect(api.status).toBe(401);
  });

  it('says the app is not built (503, DASHBOARD_APP_MISSING) when dist/web holds no index.html', async () => {
    const res = await fetch(`${unbuilt.operatorUrl}/`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('DASHBOARD_APP_MISSING');
    expect(body.message).toContain('npm run build');
    expect((await fetch(`${unbuilt.operatorUrl}/readyz`)).status).toBe(200);
  });
});
