/**
 * Issue 11, D4: an open live stream ends when its user is deleted or demoted, when the session
 * that opened it logs out, or when that session expires; stream tokens are single-use and die
 * with their session. Real HTTP against the platform on 127.0.0.1:0.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

interface Stream {
  readonly status: number;
  /** Everything received so far. */
  text(): string;
  /** Resolves with the milliseconds the stream stayed open after `since`, when the server ends it. */
  readonly ended: Promise<number>;
  close(): void;
}

function openStream(base: string, query: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/api/v1/live${query}`, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      const opened = Date.now();
      const ended = new Promise<number>((done) => {
        res.once('end', () => done(Date.now() - opened));
        res.once('close', () => done(Date.now() - opened));
      });
      resolve({ status: res.statusCode ?? 0, text: () => text, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Rejects when `ended` does not settle within `ms` (the stream stayed open). */
function within(ended: Promise<number>, ms: number): Promise<number> {
  return Promise.race([ended, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`stream still open after ${ms} ms`)), ms).unref())]);
}

describe('live streams are re-checked (D4)', () => {
  let t: TestPlatform;
  let admin: string;

  beforeAll(async () => {
    // The periodic re-check is slow here: closing must come from the events themselves.
    t = await startTestPlatform({ live: { coalesceMs: 50, heartbeatMs: 60_000, recheckMs: 60_000 } });
    admin = await t.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => t.close());

  async function user(name: string, role = 'viewer'): Promise<string> {
    const created = await t.request('POST', '/api/v1/users', { token: admin, body: { username: name, password: 'a-long-password-1', role } });
    expect(created.status).toBe(201);
    return t.login(name, 'a-long-password-1');
  }

  it('closes the stream of a user who is deleted', async () => {
    const token = await user('deleted-viewer');
    const stream = await openStream(t.url, '', { authorization: `Bearer ${token}` });
    expect(stream.status).toBe(200);
    expect((await t.request('DELETE', '/api/v1/users/deleted-viewer', { token: admin })).status).toBe(204);
    await within(stream.ended, 2_000);
    expect(stream.text()).toContain('event: closed');
    expect(stream.text()).toContain('was deleted');
  });

  it('closes the stream of a user whose role changes', async () => {
    const token = await user('demoted-operator', 'operator');
    const stream = await openStream(t.url, '', { authorization: `Bearer ${token}` });
    expect((await t.request('PATCH', '/api/v1/users/demoted-operator', { token: admin, body: { role: 'viewer' } })).status).toBe(200);
    await within(stream.ended, 2_000);
    expect(stream.text()).toContain('role of demoted-operator changed');
  });

  it('closes a stream opened with a stream token when its session logs out, and refuses the session\'s unused stream tokens', async () => {
    const session = await user('logging-out');
    const first = (await t.request('POST', '/api/v1/auth/stream-token', { token: session })).body as { token: string };
    const unused = (await t.request('POST', '/api/v1/auth/stream-token', { token: session })).body as { token: string };
    const stream = await openStream(t.url, `?access_token=${encodeURIComponent(first.token)}`);
    expect(stream.status).toBe(200);
    expect((await t.request('POST', '/api/v1/auth/logout', { token: session })).status).toBe(204);
    await within(stream.ended, 2_000);
    expect(stream.text()).toContain('logout');
    const late = await openStream(t.url, `?access_token=${encodeURIComponent(unused.token)}`);
    expect(late.status).toBe(401);
    late.close();
  });

  it('accepts a stream token once: its reuse answers 401', async () => {
    const session = await user('one-use');
    const { token } = (await t.request('POST', '/api/v1/auth/stream-token', { token: session })).body as { token: string };
    const stream = await openStream(t.url, `?access_token=${encodeURIComponent(token)}`);
    expect(stream.status).toBe(200);
    const again = await openStream(t.url, `?access_token=${encodeURIComponent(token)}`);
    expect(again.status).toBe(401);
    again.close();
    stream.close();
  });

  it('closes the stream of an API token when it is revoked', async () => {
    const created = (await t.request('POST', '/api/v1/api-tokens', { token: admin, body: { name: 'streamer', role: 'viewer' } })).body as { id: string; token: string };
    const stream = await openStream(t.url, '', { authorization: `Bearer ${created.token}` });
    expect(stream.status).toBe(200);
    expect((await t.request('DELETE', `/api/v1/api-tokens/${created.id}`, { token: admin })).status).toBe(204);
    await within(stream.ended, 2_000);
    expect(stream.text()).toContain('revoked');
  });
});

describe('live streams end with their session (D4, periodic re-check)', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform({ env: { OUTPOST_SESSION_TTL: '2s' }, live: { coalesceMs: 50, heartbeatMs: 60_000, recheckMs: 200 } });
  });
  afterAll(async () => t.close());

  it('closes a stream shortly after the session that opened it expires', async () => {
    const session = await t.login('admin', ADMIN_PASSWORD);
    const { token } = (await t.request('POST', '/api/v1/auth/stream-token', { token: session })).body as { token: string };
    const stream = await openStream(t.url, `?access_token=${encodeURIComponent(token)}`);
    expect(stream.status).toBe(200);
    const openFor = await within(stream.ended, 5_000);
    expect(openFor).toBeLessThan(2_000 + 1_500);
    expect(stream.text()).toContain('event: closed');
  });
});
