import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';

describe('command-line mistakes', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  beforeEach(async () => {
    home = await makeHome();
  });
  afterEach(() => home.cleanup());

  // Each mistake: exit code 2, nothing on stdout, exactly one line on stderr, no request sent.
  it.each([
    [['userz'], `outpost: unknown command "userz" (did you mean "users"?) — see 'outpost --help'`],
    [['gizmos', 'list'], `outpost: unknown command "gizmos" — see 'outpost --help'`],
    [['users', 'lst'], `outpost: unknown command "lst" for 'outpost users' (did you mean "list"?) — see 'outpost users --help'`],
    [['users'], `outpost: 'outpost users' needs a command: create, list, set-role, set-password or delete — see 'outpost users --help'`],
    [['users', 'list', '--jsn'], `outpost: unknown flag --jsn for 'outpost users list' (did you mean "--json"?) — see 'outpost users list --help'`],
    [['users', 'list', '-x'], `outpost: unknown flag -x for 'outpost users list' — see 'outpost users list --help'`],
    [['--server', 'http://x', 'users', 'list'], `outpost: unknown flag --server for 'outpost'; flags go after the command, e.g. 'outpost users list --server URL' — see 'outpost --help'`],
    [['users', 'create', '--role', 'admin'], `outpost: missing argument NAME — see 'outpost users create --help'`],
    [['users', 'create', 'alice'], `outpost: missing required flag --role — see 'outpost users create --help'`],
    [['users', 'create', 'alice', '--role', 'root'], `outpost: invalid value "root" for --role (expected admin, operator or viewer) — see 'outpost users create --help'`],
    [['users', 'create', 'alice', '--role'], `outpost: flag --role needs a value (a value starting with "-" must be written --role=ROLE) — see 'outpost users create --help'`],
    [['users', 'create', 'alice', '--role', '--json'], `outpost: flag --role needs a value (a value starting with "-" must be written --role=ROLE) — see 'outpost users create --help'`],
    [['users', 'create', 'alice', 'bob', '--role', 'viewer'], `outpost: unexpected argument "bob" for 'outpost users create' — see 'outpost users create --help'`],
    [['users', 'create', 'alice', '--role', 'viewer', '--role', 'admin'], `outpost: flag --role given more than once — see 'outpost users create --help'`],
    [['users', 'list', '--json=yes'], `outpost: flag --json takes no value (got "yes") — see 'outpost users list --help'`],
    [['users', 'set-role', 'alice'], `outpost: missing argument ROLE — see 'outpost users set-role --help'`],
    [['users', 'set-role', 'alice', 'god'], `outpost: invalid ROLE "god" (expected admin, operator or viewer) — see 'outpost users set-role --help'`],
    [['users', 'delete'], `outpost: missing argument NAME — see 'outpost users delete --help'`],
    [['api-tokens', 'create'], `outpost: missing required flag --name — see 'outpost api-tokens create --help'`],
    [['api-tokens', 'create', '--name', 'ci', '--ttl', 'forever'], `outpost: invalid --ttl: invalid duration "forever" (use e.g. 500ms, 1s, 5m, 12h, 90d) — see 'outpost api-tokens create --help'`],
    [['api-tokens', 'create', '--name', 'ci', '--ttl', '500ms'], `outpost: invalid --ttl "500ms": must be at least 1s — see 'outpost api-tokens create --help'`],
    [['api-tokens', 'revoke'], `outpost: missing argument ID — see 'outpost api-tokens revoke --help'`],
    [['audit', '--limit', '0'], `outpost: invalid --limit "0" (expected a whole number from 1 to 1000) — see 'outpost audit --help'`],
    [['audit', '--from', 'yesterday'], `outpost: invalid --from "yesterday" (expected RFC 3339 like 2026-01-31T12:00:00Z, epoch ms, or a duration ago like 24h) — see 'outpost audit --help'`],
    [['whoami', 'extra'], `outpost: unexpected argument "extra" for 'outpost whoami' — see 'outpost whoami --help'`],
    [['whoami', '--server', 'ftp://host'], `outpost: invalid server URL "ftp://host": only http:// and https:// are supported — see 'outpost whoami --help'`],
    [['whoami', '--server', 'not a url'], `outpost: invalid server URL "not a url" (expected e.g. http://127.0.0.1:8080) — see 'outpost whoami --help'`],
    [['users', '--version'], `outpost: unknown flag --version for 'outpost users' — see 'outpost users --help'`],
    [['help', 'userz'], `outpost: unknown command "userz" (did you mean "users"?) — see 'outpost --help'`],
    [['help', 'users', 'craete'], `outpost: unknown command "craete" for 'outpost users' (did you mean "create"?) — see 'outpost users --help'`],
  ])('outpost %j → exit 2 with one line', async (argv, expected) => {
    const result = await outpost(argv, { home: home.dir, fetch: noFetch, env: { OUTPOST_TOKEN: 'tok' } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([expected]);
  });

  it('needs a password source for login and says which ones exist', async () => {
    const result = await outpost(['login'], { home: home.dir, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      "outpost: no password: pass --password, set OUTPOST_PASSWORD, pipe it on stdin or run in a terminal to be prompted — see 'outpost login --help'",
    ]);
  });

  it('accepts a value starting with "-" when written --flag=value', async () => {
    // Reaches the network step (and fails there), so the flag parsed.
    const result = await outpost(['users', 'create', 'alice', '--role', 'viewer', '--password=-starts-with-dash'], {
      home: home.dir,
      fetch: noFetch,
      env: { OUTPOST_TOKEN: 'tok' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach http:\/\/127\.0\.0\.1:8080/);
  });
});
