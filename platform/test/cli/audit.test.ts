import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, outpost } from './cli-harness.js';
import { CREATED_AT, startFakePlatform, type FakePlatform } from './fake-platform.js';

describe('outpost audit', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let platform: FakePlatform;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    platform = await startFakePlatform();
    env = { OUTPOST_SERVER: platform.url, OUTPOST_TOKEN: platform.sessionFor('admin') };
    platform.audit.push(
      { id: 3, at: CREATED_AT + 2000, actor: 'alice', action: 'api-tokens.create', target: 'tok_1', outcome: 'success' },
      { id: 2, at: CREATED_AT + 1000, actor: 'admin', action: 'users.create', target: 'alice', outcome: 'success' },
      { id: 1, at: CREATED_AT, actor: 'mallory', action: 'auth.login', target: null, outcome: 'failure' },
    );
  });
  afterEach(async () => {
    await platform.close();
    await home.cleanup();
  });

  it('prints the entries as a table', async () => {
    const result = await outpost(['audit'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'AT                    ACTOR    ACTION             TARGET  OUTCOME',
      '2026-01-31T12:00:02Z  alice    api-tokens.create  tok_1   success',
      '2026-01-31T12:00:01Z  admin    users.create       alice   success',
      '2026-01-31T12:00:00Z  mallory  auth.login         -       failure',
    ]);
    expect(platform.requests.at(-1)).toMatchObject({ method: 'GET', path: '/audit', query: {} });
  });

  it('passes the filters as query parameters, times as epoch milliseconds', async () => {
    const now = CREATED_AT + 86_400_000;
    const result = await outpost(
      ['audit', '--actor', 'alice', '--action', 'users', '--from', '2026-01-31T12:00:00Z', '--to', '1h', '--limit', '50'],
      { home: home.dir, env, now: () => now },
    );
    expect(result.code).toBe(0);
    expect(platform.requests.at(-1)?.query).toEqual({
      actor: 'alice',
      action: 'users',
      from: String(CREATED_AT),
      to: String(now - 3_600_000),
      limit: '50',
    });
  });

  it('follows nextCursor with --all and keeps --limit as the page size', async () => {
    const result = await outpost(['audit', '--limit', '2', '--all', '--json'], { home: home.dir, env });
    expect(JSON.parse(result.stdout)).toEqual({ items: platform.audit });
    expect(platform.requests.map((r) => r.query)).toEqual([{ limit: '2' }, { limit: '2', cursor: '2' }]);
  });

  it('replaces control characters from the server so a line stays a line', async () => {
    platform.audit.length = 0;
    platform.audit.push({ id: 9, at: CREATED_AT, actor: 'eve\u001b[31m', action: 'users.create', target: 'x\ny', outcome: 'success' });
    const result = await outpost(['audit'], { home: home.dir, env });
    expect(lines(result.stdout)[1]).toBe('2026-01-31T12:00:00Z  eve?[31m  users.create  x?y     success');
  });
});
