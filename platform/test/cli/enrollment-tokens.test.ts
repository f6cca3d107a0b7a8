import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';
import { CA_FINGERPRINT, CREATED_AT, TOKEN, startFakeRegistryApi, type FakeRegistryApi } from './fake-registry-api.js';

describe('outpost enrollment-tokens', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let api: FakeRegistryApi;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    api = await startFakeRegistryApi();
    env = { OUTPOST_SERVER: api.url, OUTPOST_TOKEN: TOKEN };
  });
  afterEach(async () => {
    await api.close();
    await home.cleanup();
  });

  it('creates a token, prints it alone on stdout, and the enroll command on stderr', async () => {
    const result = await outpost(['enrollment-tokens', 'create', '--group', 'greenhouse', '--uses', '20', '--ttl', '7d', '--tag', 'site=north', '--tag', 'row=3'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/enrollment-tokens', body: { group: 'greenhouse', maxUses: 20, ttlSeconds: 7 * 86_400, tags: { site: 'north', row: '3' } } });
    expect(result.stdout).toBe('oet_secret1\n');
    expect(lines(result.stderr)).toEqual([
      'Created enrollment token et_1 for group greenhouse (20 uses, expires 2026-02-07T12:00:00Z):',
      'Enroll a device with:',
      `  outpost-agent enroll --server https://pi.example:8443 --token oet_secret1 --ca-fingerprint ${CA_FINGERPRINT}`,
      'The token is not shown again: store it now.',
    ]);
  });

  it('defaults to one use for 24 hours and sends a prefix when given', async () => {
    const result = await outpost(['enrollment-tokens', 'create', '--group', 'lab', '--prefix', 'sensor'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ group: 'lab', maxUses: 1, ttlSeconds: 86_400, deviceIdPrefix: 'sensor' });
    expect(result.stderr).toContain('(1 use, expires 2026-02-01T12:00:00Z)');
  });

  it('prints the answer as JSON with --json', async () => {
    const result = await outpost(['enrollment-tokens', 'create', '--group', 'lab', '--json'], { home: home.dir, env });
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'et_1', token: 'oet_secret1', caFingerprint: CA_FINGERPRINT, expiresAt: CREATED_AT + 86_400_000 });
  });

  it.each([
    [['--group', 'lab', '--uses', '0'], 'invalid --uses "0" (expected a whole number from 1 to 1000000)'],
    [['--group', 'lab', '--ttl', 'soon'], 'invalid --ttl: invalid duration "soon" (use e.g. 500ms, 1s, 5m, 12h, 90d)'],
    [['--group', 'lab', '--tag', 'novalue'], 'invalid --tag "novalue" (expected KEY=VALUE)'],
    [[], 'missing required flag --group'],
  ])('refuses %j without calling the server', async (flags, message) => {
    const result = await outpost(['enrollment-tokens', 'create', ...flags], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`outpost: ${message} — see 'outpost enrollment-tokens create --help'\n`);
  });

  it('lists tokens without their secrets', async () => {
    await outpost(['enrollment-tokens', 'create', '--group', 'lab', '--uses', '5', '--tag', 'site=a'], { home: home.dir, env });
    const result = await outpost(['enrollment-tokens', 'list'], { home: home.dir, env });
    expect(lines(result.stdout)).toEqual([
      'ID    GROUP  TAGS    USES  STATE   EXPIRES               CREATED BY',
      'et_1  lab    site=a  0/5   active  2026-02-01T12:00:00Z  admin',
    ]);
    expect(result.stdout).not.toContain('oet_secret1');
  });

  it('revokes a token, and reports an unknown one in one line', async () => {
    await outpost(['enrollment-tokens', 'create', '--group', 'lab'], { home: home.dir, env });
    expect(await outpost(['enrollment-tokens', 'revoke', 'et_1'], { home: home.dir, env })).toEqual({ code: 0, stdout: 'Revoked enrollment token et_1.\n', stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/enrollment-tokens/et_1' });
    const missing = await outpost(['enrollment-tokens', 'revoke', 'et_9'], { home: home.dir, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no enrollment token (ENROLL_TOKEN_NOT_FOUND)\n');
  });
});
