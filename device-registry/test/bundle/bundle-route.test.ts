import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validatePayload } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MAIN, standaloneAgent } from '@outpost/edge-agent/bundle';
import { locateAgentPackage } from '../../src/bundle/locate-agent.js';
import { csrFor, rsaKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

interface Download {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function download(t: RegistryPlatform, token: string, body: unknown): Promise<Download> {
  const res = await fetch(`${t.operatorUrl}/api/v1/agent-bundles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const json = (d: Download): { code?: string; message?: string } => JSON.parse(d.body.toString('utf8')) as { code?: string; message?: string };

describe('POST /api/v1/agent-bundles', () => {
  let t: RegistryPlatform;
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-bundle-test-'));
    // The server ships the one-file agent that `npm run build` makes; after a bare `tsc -b` make it here.
    const agentDir = await locateAgentPackage(fileURLToPath(import.meta.url));
    if (!(await standaloneAgent(agentDir, AGENT_MAIN)).ok) execFileSync(process.execPath, [join(agentDir, 'scripts', 'bundle-agent.mjs')], { stdio: 'ignore' });
    // OUTPOST_PUBLIC_HOST is 127.0.0.1 in the helper: a loopback host.
    t = await startRegistryPlatform();
  });
  afterAll(async () => {
    await t.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Saves and extracts a bundle with the system tar; answers the extraction dir. */
  async function extract(d: Download, name: string): Promise<{ dir: string; listing: string[] }> {
    const file = join(work, `${name}.tar.gz`);
    await writeFile(file, d.body);
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim().split('\n');
    const dir = join(work, name);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    return { dir: join(dir, 'outpost-bundle'), listing };
  }

  it('refuses a loopback public host with a clear 400, and creates no token', async () => {
    const before = await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin });
    const refused = await download(t, t.admin, { group: 'lab' });
    expect(refused.status).toBe(400);
    expect(json(refused).code).toBe('BUNDLE_PUBLIC_HOST_LOOPBACK');
    expect(json(refused).message).toMatch(/OUTPOST_PUBLIC_HOST is 127\.0\.0\.1, a loopback address.*--allow-loopback/);
    const after = await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin });
    expect((after.body as { items: unknown[] }).items.length).toBe((before.body as { items: unknown[] }).items.length);
  });

  it('answers a tar.gz download that the system tar lists with the one-file agent, the token and the install files', async () => {
    const d = await download(t, t.admin, { group: 'greenhouse', tags: { site: 'north' }, ttlSeconds: 7200, allowLoopback: true });
    expect(d.status, d.body.toString('utf8').slice(0, 300)).toBe(200);
    expect(d.headers.get('content-type')).toBe('application/gzip');
    expect(d.headers.get('content-disposition')).toBe('attachment; filename="outpost-agent-greenhouse.tar.gz"');
    expect(Number(d.headers.get('content-length'))).toBe(d.body.length);
    expect(d.headers.get('x-outpost-server-url')).toBe(t.deviceUrl);

    const { dir, listing } = await extract(d, 'first');
    for (const expected of [
      'outpost-bundle/bundle.json',
      'outpost-bundle/ca.pem',
      'outpost-bundle/agent.json',
      'outpost-bundle/install.sh',
      'outpost-bundle/launcher.sh',
      'outpost-bundle/outpost-agent.service',
      'outpost-bundle/outpost-agent-firstboot.service',
      'outpost-bundle/helper.sh',
      'outpost-bundle/outpost-agent-helper.service',
      'outpost-bundle/outpost-agent-helper.path',
      'outpost-bundle/agent/package.json',
      'outpost-bundle/agent/dist/src/main.js',
      'outpost-bundle/agent/THIRD-PARTY-LICENSES',
    ]) {
      expect(listing, expected).toContain(expected);
    }
    // One file and its on-demand chunks (node-forge): no node_modules, nothing a device never runs.
    const agentFiles = listing.filter((p) => p.startsWith('outpost-bundle/agent/') && !p.endsWith('/'));
    expect(agentFiles.filter((p) => !/^outpost-bundle\/agent\/(package\.json|THIRD-PARTY-LICENSES|dist\/src\/(main|chunk-[A-Z0-9]+)\.js)$/.test(p))).toEqual([]);
    expect(listing.filter((p) => p.includes('node_modules'))).toEqual([]);

    const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as Record<string, unknown>;
    const ca = (await t.api('GET', '/api/v1/ca', { token: t.admin })).body as { chainPem: string; fingerprint: string };
    const agentPkg = JSON.parse(await readFile(join(dir, 'agent/package.json'), 'utf8')) as { version: string };
    expect(manifest).toMatchObject({ v: 1, server: t.deviceUrl, group: 'greenhouse', tags: { site: 'north' }, caFingerprint: ca.fingerprint, agentVersion: agentPkg.version });
    expect(manifest['token']).toMatch(/\S{16,}/);
    expect(manifest['expiresAt']).toBe((manifest['createdAt'] as number) + 7200 * 1000);
    expect((await stat(join(dir, 'bundle.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'install.sh'))).mode & 0o111).not.toBe(0);
    expect((await stat(join(dir, 'helper.sh'))).mode & 0o111).not.toBe(0);
    expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toBe(ca.chainPem);
    const agentConfig = JSON.parse(await readFile(join(dir, 'agent.json'), 'utf8')) as unknown;
    expect(validatePayload('AgentConfig', agentConfig).ok).toBe(true);
    expect(agentConfig).toMatchObject({ collectors: [{ type: 'system', intervalMs: 10_000 }] });

    // The bundled agent runs on its own (no node_modules anywhere above it): check-config
    // validates the default agent.json. (Its node-forge chunk loads at enrollment: test/test/agent-bundle.test.ts.)
    const help = execFileSync(process.execPath, [join(dir, 'agent', AGENT_MAIN), '--help'], { cwd: dir, encoding: 'utf8' });
    expect(help).toMatch(/Usage: outpost-agent COMMAND/);
    const checked = execFileSync(process.execPath, [join(dir, 'agent', AGENT_MAIN), 'check-config', '--config', join(dir, 'agent.json'), '--state-dir', join(work, 'state')], { cwd: dir, encoding: 'utf8' });
    expect(checked).toMatch(/valid/);

    // One-time token for the bundle's group, audited.
    const tokens = (await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin })).body as { items: { id: string; group: string; maxUses: number }[] };
    expect(tokens.items.find((i) => i.id === manifest['tokenId'])).toMatchObject({ group: 'greenhouse', maxUses: 1 });
    const audit = (await t.api('GET', '/api/v1/audit?action=agent-bundles.create', { token: t.admin })).body as { items: { target: string; outcome: string }[] };
    expect(audit.items.map((i) => [i.target, i.outcome])).toContainEqual([manifest['tokenId'], 'success']);
  });

  it("gives a token that enrolls exactly one device", async () => {
    const d = await download(t, t.admin, { group: 'lab', allowLoopback: true });
    const { dir } = await extract(d, 'one-time');
    const { token } = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as { token: string };
    const first = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(rsaKey()) } });
    expect(first.status).toBe(201);
    const second = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(rsaKey()) } });
    expect(second.status).toBeGreaterThanOrEqual(400);
    expect(second.body).toMatchObject({ code: 'ENROLL_TOKEN_USED_UP' });
  });

  it('packs the agent once and reuses it for the next bundles', async () => {
    const cacheDir = join(t.dataDir, 'data', 'agent-bundles');
    const [cached] = await readdir(cacheDir);
    expect(cached).toMatch(/^agent-.*\.tar\.gz-part$/);
    const before = await stat(join(cacheDir, cached ?? ''));
    const d = await download(t, t.admin, { group: 'lab', allowLoopback: true });
    expect(d.status).toBe(200);
    const after = await stat(join(cacheDir, cached ?? ''));
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(cacheDir)).toEqual([cached]);
    // Two bundles share the agent part but never the token.
    const other = await extract(d, 'reuse');
    const first = JSON.parse(await readFile(join(work, 'first', 'outpost-bundle', 'bundle.json'), 'utf8')) as { token: string };
    const second = JSON.parse(await readFile(join(other.dir, 'bundle.json'), 'utf8')) as { token: string };
    expect(second.token).not.toBe(first.token);
  });

  it('is for operators: a viewer is refused and bad input is a 400', async () => {
    const viewer = await t.userToken('viewer');
    expect((await download(t, viewer, { group: 'lab', allowLoopback: true })).status).toBe(403);
    const bad = await download(t, t.admin, { group: 'lab', ttlSeconds: 0, allowLoopback: true });
    expect(bad.status).toBe(400);
    expect(json(bad).code).toBe('VALIDATION_FAILED');
    const unknownField = await download(t, t.admin, { group: 'lab', maxUses: 5, allowLoopback: true });
    expect(unknownField.status).toBe(400);
    // A runtime (issue 17) that is no architecture or version a bundle carries, before any token is made.
    const tokensBefore = ((await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin })).body as { items: unknown[] }).items.length;
    for (const runtime of ['mips', 'arm64@18', 'arm64@latest']) {
      const refused = await download(t, t.admin, { group: 'lab', allowLoopback: true, runtime });
      expect(refused.status, runtime).toBe(400);
      expect(json(refused).code, runtime).toBe('BUNDLE_RUNTIME_INVALID');
    }
    expect(((await t.api('GET', '/api/v1/enrollment-tokens', { token: t.admin })).body as { items: unknown[] }).items).toHaveLength(tokensBefore);
    // Without a runtime the answer says so.
    const none = await download(t, t.admin, { group: 'lab', allowLoopback: true, runtime: 'none' });
    expect(none.status).toBe(200);
    expect(none.headers.get('x-outpost-agent-runtime')).toBe('none');
  });
});

describe('POST /api/v1/agent-bundles with a reachable public host', () => {
  let t: RegistryPlatform;
  beforeAll(async () => {
    t = await startRegistryPlatform({ env: { OUTPOST_PUBLIC_HOST: 'outpost.example.org', OUTPOST_SERVER_NAMES: 'outpost.example.org,localhost,127.0.0.1' } });
  });
  afterAll(async () => t.close());

  it('needs no flag and points the device at the public host', async () => {
    const d = await download(t, t.admin, { group: 'field' });
    expect(d.status).toBe(200);
    expect(d.headers.get('x-outpost-server-url')).toMatch(/^https:\/\/outpost\.example\.org:\d+$/);
  });
});
