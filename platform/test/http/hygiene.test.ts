/**
 * Issue 11, D8 (HTTP hygiene) and D1 (HTTP listeners): security headers on every answer,
 * signed pagination cursors (a tampered one answers 400), /metrics behind a token when one is
 * configured, and idle sockets closed by the server. Real HTTP on 127.0.0.1:0.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

const METRICS_TOKEN = 'metrics-token-for-the-test';

describe('operator listener hygiene (D8)', () => {
  let t: TestPlatform;
  let admin: string;
  beforeAll(async () => {
    t = await startTestPlatform({ env: { OUTPOST_METRICS_TOKEN: METRICS_TOKEN } });
    admin = await t.login('admin', ADMIN_PASSWORD);
    for (const name of ['ann', 'ben', 'cat', 'dan']) {
      expect((await t.request('POST', '/api/v1/users', { token: admin, body: { username: name, password: 'a-long-password-1', role: 'viewer' } })).status).toBe(201);
    }
  });
  afterAll(async () => t.close());

  it('answers with nosniff everywhere and no-store on token and API answers', async () => {
    const login = await t.request('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
    const streamToken = await t.request('POST', '/api/v1/auth/stream-token', { token: admin });
    expect(streamToken.headers.get('cache-control')).toBe('no-store');
    const refused = await t.request('GET', '/api/v1/auth/me');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await t.request('GET', '/healthz')).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves the API docs page unframeable, with a strict CSP that still lets it load its own scripts', async () => {
    const page = await t.request('GET', '/api/docs/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    const html = String(page.body);
    // Every script is a same-origin file (no inline script the CSP would block)...
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    // ...and each of them loads.
    for (const src of scripts) {
      expect(src).not.toMatch(/^[a-z]+:\/\//);
      expect((await t.request('GET', new URL(src, `${t.url}/api/docs/`).pathname)).status).toBe(200);
    }
  });

  it('signs pagination cursors: the next page works, a tampered, forged or foreign cursor answers 400 CURSOR_INVALID', async () => {
    const first = await t.request('GET', '/api/v1/users?limit=2', { token: admin });
    const page1 = first.body as { items: { username: string }[]; nextCursor: string };
    expect(page1.items.map((u) => u.username)).toEqual(['admin', 'ann']);
    const second = await t.request('GET', `/api/v1/users?limit=2&cursor=${encodeURIComponent(page1.nextCursor)}`, { token: admin });
    expect(second.status).toBe(200);
    expect((second.body as { items: { username: string }[] }).items.map((u) => u.username)).toEqual(['ben', 'cat']);

    const [inner = '', mac = ''] = page1.nextCursor.split('.');
    const tampered = `${Buffer.from(JSON.stringify('cat')).toString('base64url')}.${mac}`;
    const forged = Buffer.from(JSON.stringify('ben')).toString('base64url');
    const damaged = `${inner}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const tokens = await t.request('POST', '/api/v1/api-tokens', { token: admin, body: { name: 'one' } });
    expect(tokens.status).toBe(201);
    await t.request('POST', '/api/v1/api-tokens', { token: admin, body: { name: 'two' } });
    const foreign = ((await t.request('GET', '/api/v1/api-tokens?limit=1', { token: admin })).body as { nextCursor: string }).nextCursor;
    for (const cursor of [tampered, forged, damaged, foreign, 'not-a-cursor']) {
      const res = await t.request('GET', `/api/v1/users?limit=2&cursor=${encodeURIComponent(cursor)}`, { token: admin });
      expect(res.status, cursor).toBe(400);
      expect((res.body as { code: string; message: string }).code).toBe('CURSOR_INVALID');
      expect((res.body as { message: string }).message).toMatch(/nextCursor/);
    }
  });

  it('puts /metrics behind the bearer token when OUTPOST_METRICS_TOKEN is set', async () => {
    const open = await t.request('GET', '/metrics');
    expect(open.status).toBe(401);
    expect((open.body as { message: string }).message).toMatch(/OUTPOST_METRICS_TOKEN/);
    expect((await t.request('GET', '/metrics', { token: 'wrong-token' })).status).toBe(401);
    // An operator's token is not the metrics token.
    expect((await t.request('GET', '/metrics', { token: admin })).status).toBe(401);
    const ok = await t.request('GET', '/metrics', { token: METRICS_TOKEN });
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('outpost_ready');
  });
});

describe('operator listener timeouts (D1)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ env: { OUTPOST_HTTP_IDLE_TIMEOUT: '1s', OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT: '1s' } });
  });
  afterAll(async () => t.close());

  /** Opens a TCP connection, optionally sends `first`, and resolves with how long the server kept it. */
  function heldFor(first?: string): Promise<number> {
    const { hostname, port } = new URL(t.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept an idle connection for 5 s'));
      }, 5_000);
      let openedAt = Date.now();
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        openedAt = Date.now();
        if (first !== undefined) socket.write(first);
      });
      socket.resume();
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - openedAt);
      });
    });
  }

  it('closes a connection that never sends a request', async () => {
    expect(await heldFor()).toBeLessThan(3_000);
  });

  it('closes a kept-alive connection after its answer', async () => {
    expect(await heldFor(`GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n`)).toBeLessThan(3_000);
  });
});
