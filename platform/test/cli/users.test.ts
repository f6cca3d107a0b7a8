import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, outpost } from './cli-harness.js';
import { CREATED_AT, startFakePlatform, type FakePlatform } from './fake-platform.js';

describe('outpost users', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let platform: FakePlatform;
  let token: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    platform = await startFakePlatform();
    token = platform.sessionFor('admin');
    env = { OUTPOST_SERVER: platform.url, OUTPOST_TOKEN: token };
  });
  afterEach(async () => {
    await platform.close();
    await home.cleanup();
  });

  it('creates a user with the given password and does not print it', async () => {
    const result = await outpost(['users', 'create', 'alice', '--role', 'operator', '--password', 'alice-long-password'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Created user alice (role operator).\n', stderr: '' });
    expect(platform.requests).toEqual([
      {
        method: 'POST',
        path: '/users',
        query: {},
        body: { username: 'alice', password: 'alice-long-password', role: 'operator' },
        authorization: `Bearer ${token}`,
      },
    ]);
  });

  it('generates a strong password when none is given and prints it once, alone on stdout', async () => {
    const result = await outpost(['users', 'create', 'bob', '--role', 'viewer'], { home: home.dir, env });
    expect(result.code).toBe(0);
    const sent = platform.requests[0]?.body as { password: string };
    expect(sent.password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{24}$/);
    expect(result.stdout).toBe(`${sent.password}\n`);
    expect(result.stderr).not.toContain(sent.password);
    expect(lines(result.stderr)).toEqual(['Created user bob (role viewer).', 'Generated password for bob:', 'It is shown only this once: hand it over securely now.']);

    const again = await outpost(['users', 'create', 'carol', '--role', 'viewer'], { home: home.dir, env });
    expect(again.stdout).not.toBe(result.stdout);
  });

  it('lists users as an aligned table', async () => {
    await outpost(['users', 'create', 'alice', '--role', 'operator', '--password', 'alice-long-password'], { home: home.dir, env });
    const result = await outpost(['users', 'list'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'USERNAME  ROLE      CREATED',
      'admin     admin     2026-01-31T12:00:00Z',
      'alice     operator  2026-01-31T12:00:00Z',
    ]);
    expect(platform.requests.at(-1)).toMatchObject({ method: 'GET', path: '/users', query: {}, authorization: `Bearer ${token}` });
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('prints the raw answer with --json', async () => {
    const result = await outpost(['users', 'list', '--json'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ items: [{ username: 'admin', role: 'admin', createdAt: CREATED_AT }] });
  });

  it('reads only the first page unless --all, and says there is more', async () => {
    platform.pageSize = 2;
    for (const name of ['u1', 'u2', 'u3', 'u4']) {
      platform.users.set(name, { username: name, role: 'viewer', password: 'x'.repeat(12), createdAt: CREATED_AT });
    }
    const first = await outpost(['users', 'list'], { home: home.dir, env });
    expect(lines(first.stdout)).toHaveLength(3);
    expect(lines(first.stderr)).toEqual(['(more users on the server: add --all to list them all)']);
    expect(platform.requests).toHaveLength(1);

    const firstJson = await outpost(['users', 'list', '--json'], { home: home.dir, env });
    expect(JSON.parse(firstJson.stdout)).toMatchObject({ nextCursor: '2' });

    platform.requests.length = 0;
    const all = await outpost(['users', 'list', '--all'], { home: home.dir, env });
    expect(lines(all.stdout).slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['admin', 'u1', 'u2', 'u3', 'u4']);
    expect(all.stderr).toBe('');
    expect(platform.requests.map((r) => r.query)).toEqual([{}, { cursor: '2' }, { cursor: '4' }]);

    const allJson = await outpost(['users', 'list', '--all', '--json'], { home: home.dir, env });
    const parsed = JSON.parse(allJson.stdout) as { items: unknown[]; nextCursor?: string };
    expect(parsed.items).toHaveLength(5);
    expect(parsed.nextCursor).toBeUndefined();
  });

  it("changes a user's role", async () => {
    await outpost(['users', 'create', 'alice', '--role', 'viewer', '--password', 'alice-long-password'], { home: home.dir, env });
    const result = await outpost(['users', 'set-role', 'alice', 'admin'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'alice now has role admin.\n', stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'PATCH', path: '/users/alice', body: { role: 'admin' } });
  });

  it("changes a user's password from a flag, from stdin, or generated", async () => {
    await outpost(['users', 'create', 'alice', '--role', 'viewer', '--password', 'alice-long-password'], { home: home.dir, env });

    const flag = await outpost(['users', 'set-password', 'alice', '--password', 'second-password'], { home: home.dir, env });
    expect(flag).toEqual({ code: 0, stdout: 'Changed the password of alice.\n', stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'PATCH', path: '/users/alice', body: { password: 'second-password' } });

    const piped = await outpost(['users', 'set-password', 'alice'], { home: home.dir, env, stdin: Readable.from(['third-password\n']) });
    expect(piped.code).toBe(0);
    expect(platform.requests.at(-1)?.body).toEqual({ password: 'third-password' });

    const generated = await outpost(['users', 'set-password', 'alice', '--generate'], { home: home.dir, env });
    expect(generated.code).toBe(0);
    expect(generated.stdout).toBe(`${platform.users.get('alice')?.password}\n`);
  });

  it('deletes a user, encoding the name in the path', async () => {
    platform.users.set('a b', { username: 'a b', role: 'viewer', password: 'x'.repeat(12), createdAt: CREATED_AT });
    const result = await outpost(['users', 'delete', 'a b'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Deleted user a b.\n', stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/users/a%20b', body: undefined });
    expect(platform.users.has('a b')).toBe(false);
  });

  it("reports the platform's error for an unknown user", async () => {
    const result = await outpost(['users', 'delete', 'nobody'], { home: home.dir, env });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: no user "nobody" (NOT_FOUND)\n' });
  });

  it('reports a conflict when the user exists', async () => {
    const result = await outpost(['users', 'create', 'admin', '--role', 'admin', '--password', 'whatever-password'], { home: home.dir, env });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: user "admin" already exists (CONFLICT)\n' });
  });
});
