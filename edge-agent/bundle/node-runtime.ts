/**
 * The Node.js runtime a bundle may carry (issue 17), so a device needs nothing from its OS but
 * the kernel and glibc: the official build for the device's architecture, from the npm
 * registry's `node-linux-<arch>` packages (the same binaries as nodejs.org), stripped to what
 * the agent needs — `bin/node` and the licence — and written under the bundle's `runtime/`:
 *
 *   runtime/bin/node        the official binary (0755)
 *   runtime/LICENSE         Node.js's licence (with those of its dependencies)
 *   runtime/runtime.json    {v, arch, version, nodeSha256, source}
 *
 * install.sh uses it when the device's own Node.js is missing or older than the agent needs.
 * The packed runtime (tar entries, gzipped once) is cached like the agent part
 * (agent-payload.ts), so a second bundle for the same runtime costs a file copy.
 *
 * Where a runtime comes from: `npm view` + `npm pack` (npm's own registry settings, proxies
 * and cache apply), the tarball verified against the registry's `dist.integrity` (sha512)
 * and kept in the cache dir; or a tarball the operator gives (`--runtime-tarball`: an
 * `npm pack` result or nodejs.org's `node-vX-linux-ARCH.tar.gz`), checked against the sha256
 * they expect when they give one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { OutpostError } from '@outpost/protocol';
import { writeGzipTarFile } from './gzip-tar-file.js';
import { BLOCK, TAR_END, tarEntry, type TarEntry } from './tar-writer.js';

const execFileAsync = promisify(execFile);
const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Architectures a bundle can carry a runtime for (Node's names; `uname -m`: aarch64, armv7l, x86_64). */
export const RUNTIME_ARCHES = ['arm64', 'armv7l', 'x64'] as const;
export type RuntimeArch = (typeof RUNTIME_ARCHES)[number];

/**
 * The release line a bundle gets when only the architecture is named: the newest LTS line the
 * agent is tested on (24) where the registry has it; for armv7l the newest there is (20.11:
 * Node.js stopped publishing 32-bit ARM builds to the registry after it).
 */
export const DEFAULT_RUNTIME_RANGE: Readonly<Record<RuntimeArch, string>> = { arm64: '24', armv7l: '20.11', x64: '24' };
/** The oldest Node.js the agent runs on (install.sh's NODE_MIN_MAJOR). */
export const AGENT_MIN_NODE_MAJOR = 20;

export interface RuntimeChoice {
  readonly arch: RuntimeArch;
  /** `24`, `24.11` or `24.11.1` (npm reads `24` as `24.x`). */
  readonly range: string;
}

export type RuntimeChoiceParse = { readonly ok: true; readonly value: RuntimeChoice | undefined } | { readonly ok: false; readonly reason: string };

const RANGE = /^(\d{1,3})(?:\.(\d{1,4})(?:\.(\d{1,4}))?)?$/;

function isArch(value: string): value is RuntimeArch {
  return (RUNTIME_ARCHES as readonly string[]).includes(value);
}

/**
 * `none`, `ARCH` or `ARCH@VERSION` (`arm64@22`, `arm64@22.x`, `armv7l@20.11.0`): the runtime a
 * bundle carries (`undefined` for none). A version older than the agent's minimum is refused.
 */
export function parseRuntimeChoice(text: string): RuntimeChoiceParse {
  const value = text.trim();
  if (value === 'none') return { ok: true, value: undefined };
  const at = value.indexOf('@');
  const arch = at === -1 ? value : value.slice(0, at);
  if (!isArch(arch)) return { ok: false, reason: `"${value}": the architecture must be one of ${RUNTIME_ARCHES.join(', ')} (or the whole value "none")` };
  if (at === -1) return { ok: true, value: { arch, range: DEFAULT_RUNTIME_RANGE[arch] } };
  const range = value
    .slice(at + 1)
    .replace(/^v/, '')
    .replace(/(\.x)+$/, '');
  const m = RANGE.exec(range);
  if (m === null) return { ok: false, reason: `"${value}": the version must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH (e.g. ${arch}@${DEFAULT_RUNTIME_RANGE[arch]})` };
  if (Number(m[1]) < AGENT_MIN_NODE_MAJOR) return { ok: false, reason: `"${value}": the agent needs Node.js ${AGENT_MIN_NODE_MAJOR} or newer` };
  return { ok: true, value: { arch, range } };
}

/** Whether `version` (e.g. 20.11.0) is inside `range` (20, 20.11 or 20.11.0). */
export function inRange(version: string, range: string): boolean {
  const v = version.replace(/^v/, '').split('.');
  return range.split('.').every((part, i) => v[i] === part);
}

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A runtime tarball read into memory: what the bundle keeps of it. */
export interface RuntimeTarball {
  readonly arch: RuntimeArch;
  /** Without the `v`. */
  readonly version: string;
  readonly node: Buffer;
  readonly licence: Buffer;
  /** sha256 (hex) of the tarball file as given. */
  readonly sha256: string;
  /** sha512 of the tarball, as npm's `dist.integrity` writes it (`sha512-BASE64`). */
  readonly integrity: string;
}

function tarString(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

/** The regular files of an uncompressed tar archive (ustar, pax `path`, GNU long names); `end` is where its end blocks start. */
function* tarFiles(tar: Buffer, end?: { offset: number }): Generator<{ path: string; data: Buffer }> {
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (end !== undefined) end.offset = offset;
    if (header.every((b) => b === 0)) return;
    const size = parseInt(tarString(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`a tar header at byte ${offset} has no valid size`);
    const type = String.fromCharCode(header[156] ?? 0);
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = tarString(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      if (path !== undefined) longName = path;
      continue;
    }
    if (type === 'g') continue;
    const prefix = tarString(header, 345, 155);
    const path = longName ?? (prefix === '' ? tarString(header, 0, 100) : `${prefix}/${tarString(header, 0, 100)}`);
    longName = undefined;
    if (type === '0' || type === '\0') yield { path, data };
  }
  if (end !== undefined) end.offset = Math.min(offset, tar.length);
}

function runtimeRefusal(message: string, cause?: unknown): OutpostError {
  return new OutpostError('BUNDLE_RUNTIME_INVALID', message, { status: 400, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Reads a Node.js runtime tarball: `npm pack node-linux-ARCH@V` (package/bin/node,
 * package/package.json) or nodejs.org's `node-vV-linux-ARCH.tar.gz` (node-vV-linux-ARCH/bin/node).
 * Refuses anything else (BUNDLE_RUNTIME_INVALID), saying why.
 */
export async function readRuntimeTarball(file: string): Promise<RuntimeTarball> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw runtimeRefusal(`cannot read the runtime tarball ${file}: ${(err as Error).message}`, err);
  }
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const integrity = `sha512-${createHash('sha512').update(raw).digest('base64')}`;
  let tar: Buffer;
  try {
    tar = await gunzipAsync(raw);
  } catch (err) {
    throw runtimeRefusal(`${file} is not a gzip-compressed tar archive (.tgz/.tar.gz; nodejs.org's .tar.xz is not read: take its .tar.gz, or \`npm pack node-linux-ARCH@VERSION\`)`, err);
  }
  let node: Buffer | undefined;
  let licence: Buffer | undefined;
  let manifest: Buffer | undefined;
  let top: string | undefined;
  for (const entry of tarFiles(tar)) {
    const slash = entry.path.indexOf('/');
    if (slash === -1) continue;
    const inner = entry.path.slice(slash + 1);
    if (inner === 'bin/node') {
      node = entry.data;
      top = entry.path.slice(0, slash);
    } else if (inner === 'LICENSE') licence = entry.data;
    else if (inner === 'package.json') manifest = entry.data;
  }
  if (node === undefined || top === undefined) throw runtimeRefusal(`${file} holds no bin/node: it is not a Node.js runtime (npm pack node-linux-ARCH@VERSION, or nodejs.org's node-vVERSION-linux-ARCH.tar.gz)`);
  let arch: string | undefined;
  let version: string | undefined;
  const dirName = /^node-v(\d+\.\d+\.\d+)-linux-([a-z0-9]+)$/.exec(top);
  if (dirName !== null) {
    version = dirName[1];
    arch = dirName[2];
  } else if (manifest !== undefined) {
    try {
      const pkg = JSON.parse(manifest.toString('utf8')) as { name?: unknown; version?: unknown };
      arch = typeof pkg.name === 'string' ? /^node-linux-([a-z0-9]+)$/.exec(pkg.name)?.[1] : undefined;
      version = typeof pkg.version === 'string' ? pkg.version.replace(/^v/, '') : undefined;
    } catch {
      // said below
    }
  }
  if (arch === undefined || version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw runtimeRefusal(`${file}: cannot tell its architecture and version (expected package/package.json of node-linux-ARCH, or a top directory node-vVERSION-linux-ARCH)`);
  }
  if (!isArch(arch)) throw runtimeRefusal(`${file} is Node.js for linux-${arch}; bundles carry runtimes for ${RUNTIME_ARCHES.join(', ')}`);
  if (Number(version.split('.')[0]) < AGENT_MIN_NODE_MAJOR) throw runtimeRefusal(`${file} is Node.js ${version}; the agent needs ${AGENT_MIN_NODE_MAJOR} or newer`);
  if (licence === undefined) throw runtimeRefusal(`${file} holds no LICENSE: a bundle ships Node.js with its licence`);
  return { arch, version, node, licence, sha256, integrity };
}

/** A packed runtime: a gzip member with the tar entries of `PREFIX/runtime/…`, no end blocks. */
export interface RuntimePart {
  readonly arch: RuntimeArch;
  readonly version: string;
  readonly file: string;
  /** sha256 (hex) of bin/node. */
  readonly nodeSha256: string;
  /** Bytes the runtime takes once installed. */
  readonly bytes: number;
}

/** The runtime's tar entries under `PREFIX/runtime/`. */
export function runtimeEntries(runtime: RuntimeTarball, prefix: string, source: string): { entries: TarEntry[]; nodeSha256: string } {
  const base = `${prefix}/runtime`;
  const nodeSha256 = createHash('sha256').update(runtime.node).digest('hex');
  const info = { v: 1, arch: runtime.arch, version: runtime.version, nodeSha256, source };
  return {
    nodeSha256,
    entries: [
      { type: 'directory', path: base, mode: 0o755 },
      { type: 'directory', path: `${base}/bin`, mode: 0o755 },
      { type: 'file', path: `${base}/bin/node`, data: runtime.node, mode: 0o755 },
      { type: 'file', path: `${base}/LICENSE`, data: runtime.licence, mode: 0o644 },
      { type: 'file', path: `${base}/runtime.json`, data: Buffer.from(`${JSON.stringify(info, null, 2)}\n`), mode: 0o644 },
    ],
  };
}

/** Writes the runtime's entries, gzipped, to `target` (atomically: gzip-tar-file.ts). */
export async function packRuntime(runtime: RuntimeTarball, prefix: string, source: string, target: string): Promise<RuntimePart> {
  const { entries, nodeSha256 } = runtimeEntries(runtime, prefix, source);
  await writeGzipTarFile(target, entries, { endBlocks: false });
  return { arch: runtime.arch, version: runtime.version, file: target, nodeSha256, bytes: runtime.node.length + runtime.licence.length };
}

export interface RuntimeStoreOptions {
  /** `DATA_DIR/runtimes`: verified tarballs and packed runtimes (created on demand). */
  readonly cacheDir: string;
  /** The bundle's top directory (`outpost-bundle`). */
  readonly prefix: string;
  /** The npm command (default `npm`, from PATH). */
  readonly npm?: string;
  /** How long `npm view` / `npm pack` may take (default 10 min: a runtime is 20-55 MB). */
  readonly timeoutMs?: number;
  readonly log?: { warn(o: object, m: string): void; info(o: object, m: string): void };
}

interface Sidecar {
  readonly v: 1;
  readonly arch: RuntimeArch;
  readonly version: string;
  readonly integrity: string;
  readonly nodeSha256: string;
  readonly part: string;
  readonly bytes: number;
}

function unavailable(choice: RuntimeChoice, why: string, cause?: unknown): OutpostError {
  return new OutpostError(
    'BUNDLE_RUNTIME_UNAVAILABLE',
    `cannot get Node.js ${choice.range} for ${choice.arch} from the npm registry (node-linux-${choice.arch}): ${why}. ` +
      'On a server without the registry, fetch it elsewhere (npm pack node-linux-ARCH@VERSION) and pass it with --runtime-tarball, or make the bundle with --no-runtime',
    { status: 503, details: { arch: choice.arch, range: choice.range }, ...(cause === undefined ? {} : { cause }) },
  );
}

function sidecarName(arch: string, version: string): string {
  return `runtime-${arch}-${version}.json`;
}

/**
 * Runtimes from the npm registry, verified and cached in `cacheDir`: `get({arch, range})`
 * asks the registry for the newest matching version and its integrity, and packs it once;
 * without the registry (offline) the newest cached runtime in the range is used, with a warning.
 * Concurrent callers of one version share one download.
 */
export function createRuntimeStore(options: RuntimeStoreOptions): { get(choice: RuntimeChoice): Promise<RuntimePart> } {
  const npm = options.npm ?? 'npm';
  const timeout = options.timeoutMs ?? 600_000;
  const inFlight = new Map<string, Promise<RuntimePart>>();

  async function readSidecar(arch: string, version: string): Promise<Sidecar | undefined> {
    try {
      const s = JSON.parse(await readFile(join(options.cacheDir, sidecarName(arch, version)), 'utf8')) as Sidecar;
      const part = await stat(join(options.cacheDir, s.part)).catch(() => undefined);
      return part?.isFile() === true && part.size > 0 ? s : undefined;
    } catch {
      return undefined;
    }
  }

  const partOf = (s: Sidecar): RuntimePart => ({ arch: s.arch, version: s.version, file: join(options.cacheDir, s.part), nodeSha256: s.nodeSha256, bytes: s.bytes });

  /** The newest version in the range and its integrity, as the registry says. */
  async function lookUp(choice: RuntimeChoice): Promise<{ version: string; integrity: string }> {
    const { stdout } = await execFileAsync(npm, ['view', `node-linux-${choice.arch}@${choice.range}`, 'version', 'dist.integrity', '--json'], { timeout, maxBuffer: 16 * 1024 * 1024 });
    const parsed: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
    const list = (Array.isArray(parsed) ? parsed : [parsed]) as { version?: unknown; 'dist.integrity'?: unknown }[];
    const found = list
      .filter((r): r is { version: string; 'dist.integrity': string } => typeof r.version === 'string' && typeof r['dist.integrity'] === 'string')
      .map((r) => ({ version: r.version.replace(/^v/, ''), integrity: r['dist.integrity'] }))
      .filter((r) => inRange(r.version, choice.range))
      .sort((a, b) => compareVersions(b.version, a.version))[0];
    if (found === undefined) throw new Error(`the registry has no version of node-linux-${choice.arch} in ${choice.range}`);
    return found;
  }

  async function fetchAndPack(choice: RuntimeChoice, version: string, integrity: string): Promise<RuntimePart> {
    const cached = await readSidecar(choice.arch, version);
    if (cached?.integrity === integrity) return partOf(cached);
    const tgz = join(options.cacheDir, `node-linux-${choice.arch}-${version}.tgz`);
    let runtime = await readRuntimeTarball(tgz).catch(() => undefined);
    if (runtime?.integrity !== integrity) {
      const staging = await mkdtemp(join(options.cacheDir, '.fetch-'));
      try {
        options.log?.info({ arch: choice.arch, version }, 'fetching the Node.js runtime for agent bundles from the npm registry');
        await execFileAsync(npm, ['pack', `node-linux-${choice.arch}@${version}`, '--pack-destination', staging, '--silent'], { cwd: staging, timeout });
        const fetched = join(staging, `node-linux-${choice.arch}-${version}.tgz`);
        runtime = await readRuntimeTarball(fetched);
        if (runtime.integrity !== integrity) {
          throw new OutpostError('BUNDLE_RUNTIME_INTEGRITY', `node-linux-${choice.arch}@${version} from the registry does not match its published integrity (${integrity}; got ${runtime.integrity}): not used`, { status: 502 });
        }
        await rename(fetched, tgz);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    const partName = `runtime-${choice.arch}-${version}-${integrity.slice(7, 23).replace(/[^A-Za-z0-9]/g, '_')}.tar.gz-part`;
    const part = await packRuntime(runtime, options.prefix, `npm:node-linux-${choice.arch}@${version}`, join(options.cacheDir, partName));
    const sidecar: Sidecar = { v: 1, arch: choice.arch, version, integrity, nodeSha256: part.nodeSha256, part: partName, bytes: part.bytes };
    await writeFile(join(options.cacheDir, sidecarName(choice.arch, version)), `${JSON.stringify(sidecar, null, 2)}\n`, { mode: 0o600 });
    return part;
  }

  async function newestCached(choice: RuntimeChoice): Promise<Sidecar | undefined> {
    const names = await readdir(options.cacheDir).catch(() => [] as string[]);
    const found: Sidecar[] = [];
    for (const name of names) {
      const m = /^runtime-([a-z0-9]+)-(\d+\.\d+\.\d+)\.json$/.exec(name);
      if (m === null || m[1] !== choice.arch || m[2] === undefined || !inRange(m[2], choice.range)) continue;
      const s = await readSidecar(choice.arch, m[2]);
      if (s !== undefined) found.push(s);
    }
    return found.sort((a, b) => compareVersions(b.version, a.version))[0];
  }

  return {
    async get(choice) {
      await mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
      let wanted: { version: string; integrity: string };
      try {
        wanted = await lookUp(choice);
      } catch (err) {
        const reason = (err as { stderr?: string }).stderr?.split('\n').find((l) => l.trim() !== '') ?? (err as Error).message;
        const cached = await newestCached(choice);
        if (cached === undefined) throw unavailable(choice, reason.trim(), err);
        options.log?.warn({ arch: choice.arch, range: choice.range, version: cached.version, reason }, 'the npm registry did not answer: using the newest cached runtime in the range');
        return partOf(cached);
      }
      const key = `${choice.arch}@${wanted.version}`;
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const promise = fetchAndPack(choice, wanted.version, wanted.integrity)
        .catch((err: unknown) => {
          if (err instanceof OutpostError) throw err;
          throw unavailable(choice, (err as { stderr?: string }).stderr?.trim() || (err as Error).message, err);
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },
  };
}

/**
 * A bundle made without a runtime (`bundle`: the whole .tar.gz) with `runtime` added under
 * `PREFIX/runtime/`, as gzip members: the bundle's entries, the runtime's, the end blocks.
 * What `outpost agent bundle --runtime-tarball` writes, so a server without the registry
 * still makes bundles that carry Node.js.
 */
export async function addRuntimeToBundle(bundle: Buffer, runtime: RuntimeTarball, prefix: string, source: string): Promise<{ parts: Buffer[]; nodeSha256: string }> {
  const tar = await gunzipAsync(bundle);
  const end = { offset: tar.length };
  for (const file of tarFiles(tar, end)) {
    if (file.path.startsWith(`${prefix}/runtime/`)) throw runtimeRefusal(`the bundle already carries a runtime (${file.path})`);
  }
  const { entries, nodeSha256 } = runtimeEntries(runtime, prefix, source);
  const head = await gzipAsync(tar.subarray(0, end.offset));
  const body = await gzipAsync(Buffer.concat(entries.flatMap((e) => tarEntry(e))));
  return { parts: [head, body, await gzipAsync(TAR_END)], nodeSha256 };
}
