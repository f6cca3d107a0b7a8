/**
 * Issue 11, D6: failing logins on purpose from one address must not lock the account for a
 * client elsewhere that has the right password. The clients bind to different loopback
 * addresses (127.0.0.2, 127.0.0.3); the platform trusts no proxy, so that is their address.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

function login(base: string, localAddress: string, username: string, password: string): Promise<{ status: number; body: { code?: string; token?: string } }> {
  const payload = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/api/v1/auth/login`, { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string; token?: string } }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('login limits cannot lock an account out (D6)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ env: { OUTPOST_LOGIN_RATE_LIMIT: '5', OUTPOST_LOGIN_ACCOUNT_RATE_LIMIT: '5', OUTPOST_LOGIN_SLOWDOWN: '300ms' } });
  });
  afterAll(async () => t.close());

  it('refuses the guessing address, slows the account, and lets the right password in from another address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login(t.url, '127.0.0.2', 'admin', `wrong-password-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    // The guessing address stays refused, even with the right password.
    expect((await login(t.url, '127.0.0.2', 'admin', ADMIN_PASSWORD)).status).toBe(429);

    // Others guessing from more addresses push the account over its limit: slowed, not refused.
    for (const address of ['127.0.0.4', '127.0.0.5']) for (let i = 0; i < 3; i++) expect((await login(t.url, address, 'admin', 'wrong-again')).status).toBe(401);
    const started = Date.now();
    const ok = await login(t.url, '127.0.0.3', 'admin', ADMIN_PASSWORD);
    expect(ok.status).toBe(200);
    expect(typeof ok.body.token).toBe('string');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
