import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';

/*
 * A stand-in for `POST /api/v1/agent-bundles` with the contract's answer (a gzip body and the
 * x-outpost-* headers), recording what the CLI sends; a real node:http server on 127.0.0.1:0.
 * The real route is tested in device-registry/test/bundle and end to end in test/test.
 */
const TOKEN = 'sess_agent_cli_test';
const EXPIRES_AT = Date.UTC(2026, 1, 1, 12, 0, 0);
/** The CLI stores the bytes as they come; random ones catch any change to them. */
const ARCHIVE = randomBytes(300_000);

interface FakeBundleApi {
  readonly url: string;
  readonly requests: { method: string; path: string; auth: string | undefined; body: unknown }[];
  answer: 'bundle' | 'loopback' | 'json';
  close(): Promise<void>;
}

async function startFakeBundleApi(): Promise<FakeBundleApi> {
  const api: FakeBundleApi = { url: '', requests: [], answer: 'bundle', close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      api.requests.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'UNAUTHENTICATED', message: 'no valid token' }));
      } else if (api.answer === 'loopback') {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'BUNDLE_PUBLIC_HOST_LOOPBACK', message: 'OUTPOST_PUBLIC_HOST is 127.0.0.1, a loopback address' }));
      } else if (api.answer === 'json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(200, {
          'content-type': 'application/gzip',
          'content-disposition': 'attachment; filename="outpost-agent-lab.tar.gz"',
          'content-length': String(ARCHIVE.length),
          'x-outpost-token-id': 'et_1',
          'x-outpost-token-expires-at': String(EXPIRES_AT),
          'x-outpost-server-url': 'https://pi.example:8443',
          'x-outpost-agent-version': '0.3.0',
        });
        res.end(ARCHIVE);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(api, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('outpost agent bundle', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let api: FakeBundleApi;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    api = await startFakeBundleApi();
    env = { OUTPOST_SERVER: api.url, OUTPOST_TOKEN: TOKEN };
  });
  afterEach(async () => {
    await api.close();
    await home.cleanup();
  });

  it('downloads the bundle to --out with mode 0600 and says what it wrote', async () => {
    const out = join(home.dir, 'lab.tar.gz');
    const result = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out, '--tag', 'site=north', '--ttl', '7d', '--allow-loopback'], { home: home.dir, env });
    expect(result.code, result.stderr).toBe(0);
    expect(api.requests).toEqual([
      { method: 'POST', path: '/api/v1/agent-bundles', auth: `Bearer ${TOKEN}`, body: { group: 'lab', ttlSeconds: 7 * 86_400, allowLoopback: true, tags: { site: 'north' } } },
    ]);
    expect(await readFile(out)).toEqual(ARCHIVE);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(lines(result.stdout)).toEqual([
      `Wrote ${out} (293.0 KiB): agent 0.3.0 for group lab, server https://pi.example:8443, token expires 2026-02-01T12:00:00Z (one use).`,
    ]);
    expect(lines(result.stderr)).toEqual(['It holds a one-time enrollment token: keep it private. On the device:', '  tar -xzf lab.tar.gz && sudo sh outpost-bundle/install.sh']);
    expect(await readdir(home.dir)).not.toContainEqual(expect.stringMatching(/\.part$/));
  });

  it('asks for a 24 h token and no loopback by default', async () => {
    const out = join(home.dir, 'b.tar.gz');
    expect((await outpost(['agent', 'bundle', '--group', 'lab', '--out', out], { home: home.dir, env })).code).toBe(0);
    expect(api.requests.at(-1)?.body).toEqual({ group: 'lab', ttlSeconds: 86_400, allowLoopback: false });
  });

  it("reports the server's refusal of a loopback host in one line and writes nothing", async () => {
    api.answer = 'loopback';
    const out = join(home.dir, 'refused.tar.gz');
    const result = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out], { home: home.dir, env });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: OUTPOST_PUBLIC_HOST is 127.0.0.1, a loopback address (BUNDLE_PUBLIC_HOST_LOOPBACK)\n' });
    expect(await stat(out).catch(() => undefined)).toBeUndefined();
    expect((await readdir(home.dir)).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('refuses an answer that is not a bundle', async () => {
    api.answer = 'json';
    const out = join(home.dir, 'odd.tar.gz');
    const result = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out], { home: home.dir, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: unexpected answer from ${api.url} to POST /agent-bundles: not an agent bundle\n`);
    expect(await stat(out).catch(() => undefined)).toBeUndefined();
  });

  it('keeps an existing file unless --force, without asking the server for a token', async () => {
    const out = join(home.dir, 'existing.tar.gz');
    await writeFile(out, 'precious');
    const refused = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out], { home: home.dir, env, fetch: noFetch });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`outpost: ${out} exists; pass --force to overwrite it — see 'outpost agent bundle --help'\n`);
    expect(await readFile(out, 'utf8')).toBe('precious');
    const forced = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out, '--force'], { home: home.dir, env });
    expect(forced.code).toBe(0);
    expect(await readFile(out)).toEqual(ARCHIVE);
  });

  it.each([
    [['--group', 'lab', '--out', 'x.tar.gz', '--ttl', 'soon'], 'invalid --ttl: invalid duration "soon" (use e.g. 500ms, 1s, 5m, 12h, 90d)'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--ttl', '400d'], 'invalid --ttl "400d": must be from 1s to 365d'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--tag', 'novalue'], 'invalid --tag "novalue" (expected KEY=VALUE)'],
    [['--group', 'lab'], 'missing required flag --out'],
    [['--out', 'x.tar.gz'], 'missing required flag --group'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--arch', 'mips'], 'invalid --arch "mips" (expected arm64, armv7l, x64)'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--arch', 'arm64', '--no-runtime'], '--no-runtime cannot go with --arch, --runtime-version or --runtime-tarball'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--runtime-version', '22'], '--runtime-version needs --arch'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--runtime-sha256', 'ab'], '--runtime-sha256 goes with --runtime-tarball'],
    [['--group', 'lab', '--out', 'x.tar.gz', '--arch', 'arm64', '--runtime-version', '18'], 'invalid --runtime-version: "arm64@18": the agent needs Node.js 20 or newer'],
  ])('refuses %j without calling the server', async (flags, message) => {
    const result = await outpost(['agent', 'bundle', ...flags], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`outpost: ${message} — see 'outpost agent bundle --help'\n`);
  });

  it('asks the server for the runtime --arch names, or for none', async () => {
    const withRuntime = await outpost(['agent', 'bundle', '--group', 'lab', '--out', join(home.dir, 'pi.tar.gz'), '--arch', 'arm64', '--runtime-version', '22.x'], { home: home.dir, env });
    expect(withRuntime.code, withRuntime.stderr).toBe(0);
    const without = await outpost(['agent', 'bundle', '--group', 'lab', '--out', join(home.dir, 'bare.tar.gz'), '--no-runtime'], { home: home.dir, env });
    expect(without.code, without.stderr).toBe(0);
    expect(api.requests.map((r) => (r.body as { runtime?: string }).runtime)).toEqual(['arm64@22.x', 'none']);
  });

  it('checks --runtime-tarball against --runtime-sha256 before asking the server for anything', async () => {
    const tree = join(home.dir, 'node-v24.1.0-linux-arm64');
    await mkdir(join(tree, 'bin'), { recursive: true });
    await writeFile(join(tree, 'bin', 'node'), 'not really node');
    await writeFile(join(tree, 'LICENSE'), 'licence');
    const tarball = join(home.dir, 'node-v24.1.0-linux-arm64.tar.gz');
    execFileSync('tar', ['-czf', tarball, '-C', home.dir, 'node-v24.1.0-linux-arm64']);
    const out = join(home.dir, 'pi.tar.gz');
    const wrong = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out, '--runtime-tarball', tarball, '--runtime-sha256', 'ab'.repeat(32)], { home: home.dir, env, fetch: noFetch });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/has sha256 [0-9a-f]{64}, not the (ab){32} given with --runtime-sha256: not used/);
    const otherArch = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out, '--runtime-tarball', tarball, '--arch', 'armv7l'], { home: home.dir, env, fetch: noFetch });
    expect(otherArch.code).toBe(2);
    expect(otherArch.stderr).toContain('is Node.js for arm64, not --arch armv7l');
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses an --out in a directory that does not exist', async () => {
    const out = join(home.dir, 'missing', 'x.tar.gz');
    const result = await outpost(['agent', 'bundle', '--group', 'lab', '--out', out], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(home.dir, 'missing')} is not a directory`);
    await mkdir(join(home.dir, 'dir.tar.gz'));
    const dir = await outpost(['agent', 'bundle', '--group', 'lab', '--out', join(home.dir, 'dir.tar.gz')], { home: home.dir, env, fetch: noFetch });
    expect(dir.stderr).toContain('is a directory; give a file name');
  });

  it('tells an unauthenticated user how to log in', async () => {
    const result = await outpost(['agent', 'bundle', '--group', 'lab', '--out', join(home.dir, 'x.tar.gz')], { home: home.dir, env: { ...env, OUTPOST_TOKEN: 'wrong' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: no valid token (UNAUTHENTICATED) — check the token given with OUTPOST_TOKEN, or run 'outpost login'\n");
  });

  it('is listed in the help', async () => {
    const result = await outpost(['agent', '--help'], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/bundle\s+Download an install bundle/);
  });
});
