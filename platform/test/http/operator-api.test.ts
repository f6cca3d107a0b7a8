import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

describe('operator API: users, roles, audit', () => {
  let t: TestPlatform;
  let admin: string;

  beforeAll(async () => {
    t = await startTestPlatform();
    admin = await t.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => t.close());

  it('logs in the initial admin and tells who the token belongs to', async () => {
    const me = await t.request('GET', '/api/v1/auth/me', { token: admin });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ username: 'admin', role: 'admin', via: 'session' });
  });

  it('refuses a wrong password with 401 and no hint which part was wrong', async () => {
    const res = await t.request('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'not-the-password' } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', message: 'wrong username or password' });
    const unknown = await t.request('POST', '/api/v1/auth/login', { body: { username: 'nobody', password: 'not-the-password' } });
    expect(unknown.body).toEqual(res.body);
  });

  it('lets an admin create a viewer who is refused a mutating route with 403, and audits both', async () => {
    const created = await t.request('POST', '/api/v1/users', { token: admin, body: { username: 'vera', password: 'viewer-password-1', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'vera', role: 'viewer' });

    const viewer = await t.login('vera', 'viewer-password-1');
    const refused = await t.request('POST', '/api/v1/users', { token: viewer, body: { username: 'mallory', password: 'mallory-password', role: 'admin' } });
    expect(refused.status).toBe(403);
    expect((refused.body as ErrorBody).code).toBe('FORBIDDEN');
    expect((refused.body as ErrorBody).message).toContain('admin role');

    const audit = await t.request('GET', '/api/v1/audit?action=users', { token: admin });
    expect(audit.status).toBe(200);
    const items = (audit.body as { items: { actor: string; action: string; target: string; outcome: string; status: number }[] }).items;
    expect(items).toContainEqual(expect.objectContaining({ actor: 'admin', action: 'users.create', target: 'vera', outcome: 'success', status: 201 }));
    // Refused before the body is read, so the target is unknown; who tried what is recorded.
    expect(items).toContainEqual(expect.objectContaining({ actor: 'vera', action: 'users.create', outcome: 'failure', status: 403, errorCode: 'FORBIDDEN' }));
    const viewerAudit = await t.request('GET', '/api/v1/audit', { token: viewer });
    expect(viewerAudit.status).toBe(403);
  });

  it('audits logins with the attempted username as actor', async () => {
    const audit = await t.request('GET', '/api/v1/audit?action=auth.login&actor=admin', { token: admin });
    const items = (audit.body as { items: { outcome: string }[] }).items;
    expect(items.map((i) => i.outcome)).toEqual(expect.arrayContaining(['success', 'failure']));
  });

  it('answers 401 without a token, with a garbage token, and with a malformed header', async () => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer ops_garbage' }, { authorization: 'Basic abc' }];
    for (const headers of variants) {
      const res = await t.request('GET', '/api/v1/users', { headers });
      expect(res.status).toBe(401);
      expect((res.body as ErrorBody).code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers bad JSON with 400 {code, message}', async () => {
    const res = await t.request('POST', '/api/v1/users', { token: admin, rawBody: '{"username": "x",' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('not valid JSON') });
  });

  it.each([
    [{ username: 'bob', password: 'long-enough-password', role: 'superuser' }, 'body/role must be one of'],
    [{ username: 'bob', password: 'short', role: 'viewer' }, 'body/password must NOT have fewer than 12 characters'],
    [{ username: 'Bob!', password: 'long-enough-password', role: 'viewer' }, 'body/username must match pattern'],
    [{ username: 'bob', password: 'long-enough-password', role: 'viewer', isRoot: true }, 'must not have the property \\"isRoot\\"'],
    [{ password: 'long-enough-password', role: 'viewer' }, 'must have the property \\"username\\"'],
  ])('answers schema violations with 400 VALIDATION_FAILED naming the field: %j', async (body, mention) => {
    const res = await t.request('POST', '/api/v1/users', { token: admin, body });
    expect(res.status).toBe(400);
    const err = res.body as ErrorBody;
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(err)).toContain(mention);
    expect(err.message).toMatch(/^invalid body: body/);
  });

  it('answers an unknown route with 404 {code, message}', async () => {
    const res = await t.request('GET', '/api/v1/nothing-here', { token: admin });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'NOT_FOUND', message: 'no route GET /api/v1/nothing-here' });
  });

  it('refuses a duplicate user with 409 and keeps the last admin', async () => {
    const dup = await t.request('POST', '/api/v1/users', { token: admin, body: { username: 'vera', password: 'another-password', role: 'viewer' } });
    expect(dup.status).toBe(409);
    const del = await t.request('DELETE', '/api/v1/users/admin', { token: admin });
    expect(del.status).toBe(409);
    expect((del.body as ErrorBody).message).toContain('last admin');
    const demote = await t.request('PATCH', '/api/v1/users/admin', { token: admin, body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
  });

  it('ends a user’s sessions when an admin changes their password, and deletes users', async () => {
    await t.request('POST', '/api/v1/users', { token: admin, body: { username: 'olga', password: 'operator-password', role: 'operator' } });
    const olga = await t.login('olga', 'operator-password');
    expect((await t.request('GET', '/api/v1/auth/me', { token: olga })).status).toBe(200);
    const patched = await t.request('PATCH', '/api/v1/users/olga', { token: admin, body: { password: 'a-new-password-1' } });
    expect(patched.status).toBe(200);
    expect((await t.request('GET', '/api/v1/auth/me', { token: olga })).status).toBe(401);
    expect((await t.request('DELETE', '/api/v1/users/olga', { token: admin })).status).toBe(204);
    expect((await t.request('GET', '/api/v1/users/olga', { token: admin })).status).toBe(404);
  });

  it('paginates the user list with a cursor', async () => {
    for (const name of ['pa', 'pb', 'pc']) {
      await t.request('POST', '/api/v1/users', { token: admin, body: { username: name, password: 'paging-password', role: 'viewer' } });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await t.request('GET', `/api/v1/users?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`, { token: admin });
      const body = res.body as { items: { username: string }[]; nextCursor?: string };
      seen.push(...body.items.map((u) => u.username));
      cursor = body.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['admin', 'pa', 'pb', 'pc', 'vera']));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('API tokens', () => {
  let t: TestPlatform;
  let admin: string;
  beforeAll(async () => {
    t = await startTestPlatform();
    admin = await t.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => t.close());

  it('shows a token once, authenticates with it, never lists it, and revokes it', async () => {
    const created = await t.request('POST', '/api/v1/api-tokens', { token: admin, body: { name: 'ci', role: 'viewer', ttlSeconds: 3600 } });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    expect(token).toMatch(/^opa_/);

    const me = await t.request('GET', '/api/v1/auth/me', { token });
    expect(me.body).toEqual({ username: 'admin', role: 'viewer', via: 'api-token' });
    expect((await t.request('POST', '/api/v1/users', { token, body: { username: 'zed', password: 'zed-password-long', role: 'viewer' } })).status).toBe(403);

    const list = await t.request('GET', '/api/v1/api-tokens', { token: admin });
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect((list.body as { items: { id: string }[] }).items.map((i) => i.id)).toContain(id);

    expect((await t.request('DELETE', `/api/v1/api-tokens/${id}`, { token: admin })).status).toBe(204);
    expect((await t.request('GET', '/api/v1/auth/me', { token })).status).toBe(401);
  });

  it('refuses a token with a higher role than its creator', async () => {
    await t.request('POST', '/api/v1/users', { token: admin, body: { username: 'vic', password: 'viewer-password-2', role: 'viewer' } });
    const vic = await t.login('vic', 'viewer-password-2');
    const res = await t.request('POST', '/api/v1/api-tokens', { token: vic, body: { name: 'sneaky', role: 'admin' } });
    expect(res.status).toBe(403);
  });

  it('stores tokens only as hashes', async () => {
    const created = await t.request('POST', '/api/v1/api-tokens', { token: admin, body: { name: 'hash-check' } });
    const { token } = created.body as { token: string };
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const bytes = await readFile(join(t.dataDir, 'data', 'state.db'));
    const wal = await readFile(join(t.dataDir, 'data', 'state.db-wal')).catch(() => Buffer.alloc(0));
    expect(bytes.includes(token)).toBe(false);
    expect(wal.includes(token)).toBe(false);
  });
});

describe('login rate limit', () => {
  it('answers 429 with Retry-After once the per-minute limit is used up', async () => {
    const t = await startTestPlatform({ env: { OUTPOST_LOGIN_RATE_LIMIT: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await t.request('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'wrong-password' } });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
          expect((res.body as ErrorBody).code).toBe('RATE_LIMITED');
        }
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

describe('initial admin', () => {
  it('generates a password, prints it once, and it works', async () => {
    const t = await startTestPlatform({ adminPassword: null });
    try {
      const printed = t.stdout.join('');
      const password = /shown only once:\s+(\S+)/.exec(printed)?.[1];
      expect(password).toBeDefined();
      expect(password?.length).toBeGreaterThanOrEqual(20);
      await expect(t.login('admin', password ?? '')).resolves.toMatch(/^ops_/);
    } finally {
      await t.close();
    }
  });
});
