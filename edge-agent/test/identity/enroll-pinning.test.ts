import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOfDer, parseFingerprint } from '../../src/identity/ca-pin.js';
import { enrollDevice, resolvePinnedCa } from '../../src/identity/enroll.js';
import { statePaths } from '../../src/identity/state-dir.js';
import { makeTestPki } from './test-pki.js';
import type { TestPki } from './test-pki.js';

describe('CA pinning before the token is sent', () => {
  let pki: TestPki;
  let other: TestPki;
  let server: Server;
  let url: string;
  let dir: string;
  const requests: string[] = [];

  beforeAll(async () => {
    [pki, other] = await Promise.all([makeTestPki('Platform CA'), makeTestPki('Impostor CA')]);
    dir = await mkdtemp(join(tmpdir(), 'agent-enroll-'));
    // The listener sends its full chain (leaf + CA) and serves it at /device/v1/ca, as the platform does.
    server = createServer({ cert: `${pki.serverCertPem}${pki.caPem}`, key: pki.serverKeyPem }, (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === '/device/v1/ca') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pki.caPem);
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'ENROLL_TOKEN_INVALID', message: 'no such token' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await Promise.all([pki.cleanup(), other.cleanup(), rm(dir, { recursive: true, force: true })]);
  });

  const fp = (pem: string) => fingerprintOfDer(new X509Certificate(pem).raw);

  it('accepts the chain whose CA has the pinned fingerprint, fetched over a verified connection', async () => {
    requests.length = 0;
    const chain = await resolvePinnedCa(new URL(url), { caFingerprint: fp(pki.caPem), paths: statePaths(join(dir, 'a')) });
    expect(fp(chain ?? '')).toBe(fp(pki.caPem));
    expect(requests).toEqual(['GET /device/v1/ca']);
  });

  it('refuses a server whose CA does not match and never sends the token', async () => {
    requests.length = 0;
    const paths = statePaths(join(dir, 'b'));
    await expect(enrollDevice({ server: url, token: 'secret-token', caFingerprint: fp(other.caPem), paths, agentVersion: '0.1.0' })).rejects.toMatchObject({
      code: 'AGENT_CA_MISMATCH',
    });
    expect(requests).toEqual([]);
    await expect(stat(paths.key)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a CA file that is not the server’s CA before any request', async () => {
    requests.length = 0;
    const paths = statePaths(join(dir, 'c'));
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(paths.dir, { recursive: true });
    await writeFile(paths.ca, other.caPem);
    await expect(enrollDevice({ server: url, token: 'secret-token', paths, agentVersion: '0.1.0' })).rejects.toMatchObject({ code: 'AGENT_SERVER_UNTRUSTED' });
    expect(requests).toEqual([]);
  });

  it('refuses to go on without a pin, and refuses plain http without --insecure', async () => {
    const paths = statePaths(join(dir, 'd'));
    await expect(enrollDevice({ server: url, token: 't', paths, agentVersion: '0.1.0' })).rejects.toMatchObject({ code: 'AGENT_CA_UNPINNED' });
    await expect(enrollDevice({ server: 'http://127.0.0.1:1', token: 't', paths, agentVersion: '0.1.0' })).rejects.toMatchObject({ code: 'AGENT_INSECURE_REFUSED' });
    expect(requests).not.toContain('POST /device/v1/enroll');
  });

  it('sends the token once the CA is pinned, and reports the server’s refusal as one coded line', async () => {
    requests.length = 0;
    const paths = statePaths(join(dir, 'e'));
    await expect(enrollDevice({ server: url, token: 'secret-token', caFingerprint: fp(pki.caPem), paths, agentVersion: '0.1.0' })).rejects.toMatchObject({
      code: 'ENROLL_TOKEN_INVALID',
      message: expect.stringContaining('no such token'),
    });
    expect(requests).toEqual(['GET /device/v1/ca', 'POST /device/v1/enroll']);
    // The key was made for the request, 0600.
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
  });

  it('normalizes fingerprints and refuses malformed ones', () => {
    const hex = 'AB'.repeat(32);
    expect(parseFingerprint(`sha256:${hex.match(/../g)?.join(':')}`)).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(() => parseFingerprint('sha1:abcd')).toThrow(/64 hex digits/);
  });
});
