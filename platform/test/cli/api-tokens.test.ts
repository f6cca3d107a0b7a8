import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, outpost } from './cli-harness.js';
import { CREATED_AT, startFakePlatform, type FakePlatform } from './fake-platform.js';

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('outpost api-tokens', () => {
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

  it('creates a token and shows it exactly once, alone on stdout, with a note that it is not shown again', async () => {
    const result = await outpost(['api-tokens', 'create', '--name', 'ci', '--role', 'operator', '--ttl', '30d'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(platform.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api-tokens',
      body: { name: 'ci', role: 'operator', ttlSeconds: 30 * 86_400 },
      authorization: `Bearer ${token}`,
    });
    const secret = platform.tokens.get('tok_1')?.token ?? '';
    expect(secret).not.toBe('');
    expect(result.stdout).toBe(`${secret}\n`);
    expect(occurrences(result.stdout + result.stderr, secret)).toBe(1);
    expect(lines(result.stderr)).toEqual([
      'Created API token "ci" (id tok_1, role operator, expires 2026-03-02T12:00:00Z):',
      'The token is not shown again: store it now.',
    ]);

    const listed = await outpost(['api-tokens', 'list', '--json'], { home: home.dir, env });
    expect(listed.stdout).not.toContain(secret);
  });

  it('sends only the flags given: no role, no ttl', async () => {
    const result = await outpost(['api-tokens', 'create', '--name', 'grafana'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(platform.requests.at(-1)?.body).toEqual({ name: 'grafana' });
    expect(result.stderr).toContain('(id tok_1, role admin, never expires)');
  });

  it('prints the creation answer as JSON with --json', async () => {
    const result = await outpost(['api-tokens', 'create', '--name', 'ci', '--ttl', '1h30m', '--json'], { home: home.dir, env });
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(answer).toEqual({ id: 'tok_1', token: platform.tokens.get('tok_1')?.token, name: 'ci', role: 'admin', expiresAt: CREATED_AT + 5_400_000 });
    expect(platform.requests.at(-1)?.body).toEqual({ name: 'ci', ttlSeconds: 5400 });
    expect(result.stderr).toBe('The token is not shown again: store it now.\n');
  });

  it('lists tokens as a table without their secrets', async () => {
    await outpost(['api-tokens', 'create', '--name', 'ci', '--ttl', '30d'], { home: home.dir, env });
    await outpost(['api-tokens', 'create', '--name', 'grafana-dashboards', '--role', 'viewer'], { home: home.dir, env });
    const result = await outpost(['api-tokens', 'list'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'ID     NAME                ROLE    CREATED BY  CREATED               EXPIRES               LAST USED',
      'tok_1  ci                  admin   admin       2026-01-31T12:00:00Z  2026-03-02T12:00:00Z  never',
      'tok_2  grafana-dashboards  viewer  admin       2026-01-31T12:00:00Z  never                 never',
    ]);
    for (const { token } of platform.tokens.values()) expect(result.stdout).not.toContain(token);
  });

  it('says so on stderr when there is nothing to list, and prints an empty list with --json', async () => {
    expect(await outpost(['api-tokens', 'list'], { home: home.dir, env })).toEqual({ code: 0, stdout: '', stderr: 'No API tokens.\n' });
    const json = await outpost(['api-tokens', 'list', '--json'], { home: home.dir, env });
    expect(JSON.parse(json.stdout)).toEqual({ items: [] });
  });

  it('revokes a token by id', async () => {
    await outpost(['api-tokens', 'create', '--name', 'ci'], { home: home.dir, env });
    const result = await outpost(['api-tokens', 'revoke', 'tok_1'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Revoked API token tok_1.\n', stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/api-tokens/tok_1' });
    expect(platform.tokens.size).toBe(0);
  });

  it('authenticates with an API token it created', async () => {
    const created = await outpost(['api-tokens', 'create', '--name', 'ci', '--role', 'viewer'], { home: home.dir, env });
    const me = await outpost(['whoami', '--token', created.stdout.trim()], { home: home.dir, env: { OUTPOST_SERVER: platform.url } });
    expect(me.stdout).toBe(`admin (role viewer) on ${platform.url}, via an API token\n`);
  });
});
