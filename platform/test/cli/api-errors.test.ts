import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRootCommand } from '../../src/cli/command-tree.js';
import { lines, makeHome, outpost } from './cli-harness.js';
import { ADMIN_PASSWORD, startFakePlatform, type FakePlatform } from './fake-platform.js';

/** A bare HTTP server for answers the stand-in platform never gives. */
async function rawServer(listener: RequestListener): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const { server, close } = await rawServer(() => undefined);
  const { port } = server.address() as AddressInfo;
  await close();
  return port;
}

describe('API errors', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let platform: FakePlatform;
  beforeEach(async () => {
    home = await makeHome();
    platform = await startFakePlatform();
  });
  afterEach(async () => {
    await platform.close();
    await home.cleanup();
  });

  it('reports a 401 for a bad OUTPOST_TOKEN in one line, suggesting a login', async () => {
    const result = await outpost(['users', 'list'], { home: home.dir, env: { OUTPOST_SERVER: platform.url, OUTPOST_TOKEN: 'stale-token-123' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([
      "error: authentication required (UNAUTHENTICATED) — check the token given with OUTPOST_TOKEN, or run 'outpost login'",
    ]);
    expect(result.stderr).not.toContain('stale-token-123');
  });

  it('names --token when that is where the bad token came from', async () => {
    const result = await outpost(['whoami', '--server', platform.url, '--token', 'nope'], { home: home.dir });
    expect(lines(result.stderr)).toEqual(["error: authentication required (UNAUTHENTICATED) — check the token given with --token, or run 'outpost login'"]);
  });

  it('suggests logging in again when the saved session has ended on the server', async () => {
    await outpost(['login', '--server', platform.url, '--password', ADMIN_PASSWORD], { home: home.dir });
    platform.sessions.clear();
    const result = await outpost(['api-tokens', 'list'], { home: home.dir });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      `error: authentication required (UNAUTHENTICATED) — your session may have ended: run 'outpost login --server ${platform.url}'`,
    ]);
  });

  it('says when there is no token at all, without sending a request', async () => {
    const result = await outpost(['users', 'list'], { home: home.dir, env: { OUTPOST_SERVER: platform.url } });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([`error: not logged in to ${platform.url}: run 'outpost login --server ${platform.url}', or pass --token (or set OUTPOST_TOKEN)`]);
    expect(platform.requests).toHaveLength(0);
  });

  it('reports an unreachable server in one clear line', async () => {
    const port = await closedPort();
    const result = await outpost(['users', 'list', '--server', `http://127.0.0.1:${port}`, '--token', 't'], { home: home.dir });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `error: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)\n` });

    const login = await outpost(['login', '--server', `http://127.0.0.1:${port}`, '--password', 'whatever'], { home: home.dir });
    expect(login).toEqual({ code: 1, stdout: '', stderr: `error: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)\n` });
  });

  it('gives up on a server that does not answer within the request deadline', async () => {
    const silent = await rawServer(() => undefined);
    try {
      const result = await outpost(['whoami', '--server', silent.url, '--token', 't'], { home: home.dir, requestTimeoutMs: 200 });
      expect(result).toEqual({ code: 1, stdout: '', stderr: `error: cannot reach ${silent.url} (timed out after 0.2 s)\n` });
    } finally {
      await silent.close();
    }
  });

  it('reports an error answer that is not JSON by its status', async () => {
    const proxy = await rawServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    });
    try {
      const result = await outpost(['users', 'list', '--server', proxy.url, '--token', 't'], { home: home.dir });
      expect(result).toEqual({ code: 1, stdout: '', stderr: `error: ${proxy.url} answered HTTP 502 Bad Gateway\n` });
    } finally {
      await proxy.close();
    }
  });

  it('refuses an answer that does not have the promised shape', async () => {
    const odd = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [{ username: 42, role: 'admin' }] }));
    });
    try {
      const result = await outpost(['users', 'list', '--server', odd.url, '--token', 't'], { home: home.dir });
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^error: unexpected answer from ${odd.url} to GET /users: /items/0/username `));
    } finally {
      await odd.close();
    }
  });

  it('reports a bug in one line, with the stack only when OUTPOST_DEBUG=1', async () => {
    const root = createRootCommand([
      {
        name: 'crash',
        summary: 'Fail unexpectedly',
        run: () => Promise.reject(new TypeError('cannot read properties of undefined')),
      },
    ]);
    const quiet = await outpost(['crash'], { home: home.dir, root });
    expect(quiet).toEqual({
      code: 1,
      stdout: '',
      stderr: 'outpost: unexpected error: cannot read properties of undefined (this is a bug; set OUTPOST_DEBUG=1 for details)\n',
    });
    const debug = await outpost(['crash'], { home: home.dir, root, env: { OUTPOST_DEBUG: '1' } });
    expect(debug.stderr).toContain('TypeError: cannot read properties of undefined\n    at ');
  });
});
