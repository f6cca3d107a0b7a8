import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliInput } from '../../src/cli/cli-io.js';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';
import { ADMIN_PASSWORD, startFakePlatform, type FakePlatform } from './fake-platform.js';

function pipedStdin(text: string): CliInput {
  return Readable.from([Buffer.from(text)]);
}

/** A terminal stand-in: records raw mode, delivers keystrokes once the prompt reads. */
function fakeTerminal(keystrokes: string): CliInput & { rawModes: boolean[] } {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; isRaw: boolean; rawModes: boolean[]; setRawMode: (mode: boolean) => void };
  stream.isTTY = true;
  stream.isRaw = false;
  stream.rawModes = [];
  stream.setRawMode = (mode: boolean) => {
    stream.isRaw = mode;
    stream.rawModes.push(mode);
  };
  stream.write(keystrokes);
  return stream;
}

describe('outpost login, whoami and logout', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let platform: FakePlatform;
  let credentialsFile: string;
  beforeEach(async () => {
    home = await makeHome();
    platform = await startFakePlatform();
    credentialsFile = join(home.dir, '.config', 'outpost', 'credentials.json');
  });
  afterEach(async () => {
    await platform.close();
    await home.cleanup();
  });

  it('logs in and stores the credentials with mode 0600 in a 0700 directory', async () => {
    const result = await outpost(['login', '--server', `${platform.url}/`, '--password', ADMIN_PASSWORD], { home: home.dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');

    expect(platform.requests).toHaveLength(1);
    const [login] = platform.requests;
    expect(login).toMatchObject({ method: 'POST', path: '/auth/login', body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(login?.authorization).toBeUndefined();

    const saved = JSON.parse(await readFile(credentialsFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(saved).sort()).toEqual(['expiresAt', 'server', 'token', 'username']);
    expect(saved).toMatchObject({ server: platform.url, username: 'admin' });
    expect(platform.sessions.get(String(saved['token']))).toBe('admin');
    expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home.dir, '.config', 'outpost'))).mode & 0o777).toBe(0o700);

    expect(lines(result.stdout)[0]).toMatch(new RegExp(`^Logged in to ${platform.url} as admin \\(role admin\\); the session expires at \\d{4}-\\d\\d-\\d\\dT`));
    expect(result.stdout).toContain(credentialsFile);
    expect(result.stdout).not.toContain(String(saved['token']));
    expect(result.stdout).not.toContain(ADMIN_PASSWORD);
  });

  it('uses the saved server and token for later commands', async () => {
    await outpost(['login', '--password', ADMIN_PASSWORD], { home: home.dir, env: { OUTPOST_SERVER: platform.url } });
    const saved = JSON.parse(await readFile(credentialsFile, 'utf8')) as { token: string };

    const me = await outpost(['whoami'], { home: home.dir });
    expect(me).toEqual({ code: 0, stdout: `admin (role admin) on ${platform.url}, via a session\n`, stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'GET', path: '/auth/me', authorization: `Bearer ${saved.token}` });

    const json = await outpost(['whoami', '--json'], { home: home.dir });
    expect(JSON.parse(json.stdout)).toEqual({ username: 'admin', role: 'admin', via: 'session' });
  });

  it('prefers --token over OUTPOST_TOKEN over the saved session', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    const fromEnv = platform.sessionFor('admin');
    const fromFlag = platform.sessionFor('admin');
    await outpost(['whoami', '--token', fromFlag], { home: home.dir, env: { OUTPOST_TOKEN: fromEnv } });
    expect(platform.requests.at(-1)?.authorization).toBe(`Bearer ${fromFlag}`);
    await outpost(['whoami'], { home: home.dir, env: { OUTPOST_TOKEN: fromEnv } });
    expect(platform.requests.at(-1)?.authorization).toBe(`Bearer ${fromEnv}`);
  });

  it('never sends a saved token to a different server', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    const result = await outpost(['whoami', '--server', 'http://other.example:8080'], { home: home.dir, fetch: noFetch });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      "error: not logged in to http://other.example:8080: run 'outpost login --server http://other.example:8080', or pass --token (or set OUTPOST_TOKEN)",
    ]);
  });

  it('takes a pasted API base URL back to the server URL', async () => {
    await outpost(['login', '--server', `${platform.url}/api/v1/`, '--password', ADMIN_PASSWORD], { home: home.dir });
    expect(platform.requests[0]?.path).toBe('/auth/login');
    expect(JSON.parse(await readFile(credentialsFile, 'utf8'))).toMatchObject({ server: platform.url });
  });

  it('reads the password from OUTPOST_PASSWORD', async () => {
    const result = await outpost(['login', '--server', platform.url], { home: home.dir, env: { OUTPOST_PASSWORD: ADMIN_PASSWORD } });
    expect(result.code).toBe(0);
    expect(platform.requests[0]?.body).toEqual({ username: 'admin', password: ADMIN_PASSWORD });
  });

  it('reads the password from the first line of a piped stdin', async () => {
    platform.users.set('alice', { username: 'alice', role: 'viewer', password: 'alice-long-password', createdAt: 0 });
    const result = await outpost(['login', '--server', platform.url, '--username', 'alice'], { home: home.dir, stdin: pipedStdin('alice-long-password\nignored\n') });
    expect(result.code).toBe(0);
    expect(platform.requests[0]?.body).toEqual({ username: 'alice', password: 'alice-long-password' });
    expect(result.stdout).toContain('as alice (role viewer)');
  });

  it('prompts on a terminal without echoing the password', async () => {
    const terminal = fakeTerminal(`${ADMIN_PASSWORD.slice(0, 5)}X\u007f${ADMIN_PASSWORD.slice(5)}\r`);
    const result = await outpost(['login', '--server', platform.url], { home: home.dir, stdin: terminal });
    expect(result.code).toBe(0);
    expect(platform.requests[0]?.body).toEqual({ username: 'admin', password: ADMIN_PASSWORD });
    expect(result.stderr).toBe(`Password for admin at ${platform.url}: \n`);
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it('stops at Ctrl-C in the prompt without logging in', async () => {
    const result = await outpost(['login', '--server', platform.url], { home: home.dir, stdin: fakeTerminal('secr\u0003') });
    expect(result.code).toBe(130);
    expect(lines(result.stderr).at(-1)).toBe('error: cancelled');
    expect(platform.requests).toHaveLength(0);
  });

  it('reports a wrong password in one line and saves nothing', async () => {
    const result = await outpost(['login', '--server', platform.url, '--password', 'wrong-password!'], { home: home.dir });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual(['error: wrong username or password (UNAUTHENTICATED) — check the user name and password']);
    await expect(stat(credentialsFile)).rejects.toThrow(/ENOENT/);
  });

  it('writes the credentials where OUTPOST_CLI_CONFIG says', async () => {
    const custom = join(home.dir, 'elsewhere', 'outpost.json');
    const env = { OUTPOST_CLI_CONFIG: custom };
    expect((await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir, env })).code).toBe(0);
    expect((await stat(custom)).mode & 0o777).toBe(0o600);
    expect((await outpost(['whoami'], { home: home.dir, env })).code).toBe(0);
  });

  it('replaces an existing credentials file and keeps it 0600', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    const first = await readFile(credentialsFile, 'utf8');
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    expect(await readFile(credentialsFile, 'utf8')).not.toBe(first);
    expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
  });

  it('says the saved session expired instead of sending it', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    const later = Date.now() + 2 * 3_600_000;
    const result = await outpost(['whoami'], { home: home.dir, now: () => later });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toMatch(new RegExp(`^error: your session on ${platform.url} expired at .*: run 'outpost login --server ${platform.url}'$`));
    expect(platform.requests).toHaveLength(1);
  });

  it('reports a damaged credentials file in one line', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    await writeFile(credentialsFile, '{not json');
    const result = await outpost(['whoami'], { home: home.dir });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([`error: credentials file ${credentialsFile} is not valid JSON; run 'outpost login' again`]);
  });

  it('logs out: ends the session on the server and deletes the credentials file', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    const { token } = JSON.parse(await readFile(credentialsFile, 'utf8')) as { token: string };

    const result = await outpost(['logout'], { home: home.dir });
    expect(result).toEqual({ code: 0, stdout: `Logged out of ${platform.url} (admin).\n`, stderr: '' });
    expect(platform.requests.at(-1)).toMatchObject({ method: 'POST', path: '/auth/logout', authorization: `Bearer ${token}` });
    expect(platform.sessions.has(token)).toBe(false);
    await expect(stat(credentialsFile)).rejects.toThrow(/ENOENT/);

    expect(await outpost(['logout'], { home: home.dir })).toEqual({ code: 0, stdout: 'Not logged in.\n', stderr: '' });
  });

  it('logs out locally even when the server is gone', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    await platform.close();
    const result = await outpost(['logout'], { home: home.dir });
    expect(result.code).toBe(0);
    expect(lines(result.stderr)).toEqual([`note: could not end the session on the server: cannot reach ${platform.url} (ECONNREFUSED)`]);
    await expect(stat(credentialsFile)).rejects.toThrow(/ENOENT/);
  });
});
