/**
 * The agent part of every bundle: the one-file agent (standalone-agent.ts) when the build made
 * a fresh one — else, with a warning, the agent package and its production node_modules — as
 * tar entries, gzipped once and cached on disk. A bundle is then three gzip members back to back
 * (its own small files, this cached part, the end blocks); gzip readers decompress
 * concatenated members as one stream, so `tar -xzf` sees one archive and the second bundle
 * costs a file copy, not a compression. The cache key is the agent's version plus a digest
 * of every file's path, size and mtime, so a rebuilt agent of the same version is repacked.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/protocol';
import { packageClosure, readManifest } from './package-closure.js';
import { packageFiles, type PackageFile } from './package-files.js';
import { standaloneAgent } from './standalone-agent.js';
import { writeGzipTarFile } from './gzip-tar-file.js';
import type { TarEntry } from './tar-writer.js';

/** What the launcher and install.sh run, relative to the agent package. */
export const AGENT_MAIN = 'dist/src/main.js';

export interface AgentPayload {
  /** The agent's version (its package.json). */
  readonly version: string;
  /** A gzip member holding the tar entries of `PREFIX/agent/…`, without the end blocks. */
  readonly file: string;
  /** `standalone`: one bundled file; `package`: the package with its node_modules. */
  readonly form: 'standalone' | 'package';
  /** Files and bytes the agent takes once installed. */
  readonly files: number;
  readonly bytes: number;
}

export interface AgentPayloadOptions {
  /** The installed agent package (its dir holds package.json). */
  readonly agentDir: string;
  /** Where packed agent parts are kept (created on demand). */
  readonly cacheDir: string;
  /** The bundle's top directory, e.g. `outpost-bundle`; the agent goes to `PREFIX/agent`. */
  readonly prefix: string;
  /** Told once per reason when the one-file agent cannot be used and node_modules are shipped instead. */
  readonly log?: { warn(o: object, m: string): void };
}

interface Plan {
  readonly version: string;
  readonly key: string;
  readonly form: AgentPayload['form'];
  readonly files: readonly PackageFile[];
}

async function packageWithModules(agentDir: string): Promise<{ version: string; files: PackageFile[] }> {
  const packages = await packageClosure(agentDir);
  const root = packages[0];
  if (root === undefined) throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `no agent package at ${agentDir}`);
  const files: PackageFile[] = [];
  for (const pkg of packages) files.push(...(await packageFiles(pkg)));
  return { version: root.manifest.version, files };
}

async function plan(options: AgentPayloadOptions, warnOnce: (reason: string) => void): Promise<Plan> {
  const standalone = await standaloneAgent(options.agentDir, AGENT_MAIN);
  let form: AgentPayload['form'] = 'standalone';
  let version: string;
  let files: PackageFile[];
  if (standalone.ok) {
    version = (await readManifest(options.agentDir)).version;
    files = [...standalone.files];
  } else {
    warnOnce(standalone.reason);
    form = 'package';
    ({ version, files } = await packageWithModules(options.agentDir));
  }
  if (!files.some((f) => f.path === AGENT_MAIN)) {
    throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `the agent at ${options.agentDir} has no ${AGENT_MAIN} (is it built?)`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const digest = createHash('sha256');
  digest.update(`${options.prefix}\n${form}\n`);
  for (const f of files) digest.update(`${f.path}\0${f.size}\0${Math.floor(f.mtimeMs)}\0${f.mode}\n`);
  const safeVersion = version.replace(/[^A-Za-z0-9.+-]/g, '_');
  return { version, key: `agent-${safeVersion}-${digest.digest('hex').slice(0, 16)}`, form, files };
}

/** Directory entries for every parent of the files, parents first. */
function directories(files: readonly PackageFile[], base: string): string[] {
  const dirs = new Set<string>([base]);
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i += 1) dirs.add(`${base}/${parts.slice(0, i).join('/')}`);
  }
  return [...dirs].sort();
}

async function pack(p: Plan, options: AgentPayloadOptions, target: string): Promise<void> {
  const base = `${options.prefix}/agent`;
  async function* entries(): AsyncGenerator<TarEntry> {
    for (const dir of directories(p.files, base)) yield { type: 'directory', path: dir, mode: 0o755 };
    for (const f of p.files) yield { type: 'file', path: `${base}/${f.path}`, data: await readFile(f.source), mode: f.mode, mtime: f.mtimeMs };
  }
  await writeGzipTarFile(target, entries(), { endBlocks: false });
}

/**
 * Packs the agent on first use and whenever its files change; concurrent callers share one
 * packing. Older packed parts are removed once a new one is in place.
 */
export function createAgentPayloads(options: AgentPayloadOptions): { get(): Promise<AgentPayload> } {
  const inFlight = new Map<string, Promise<AgentPayload>>();
  const warned = new Set<string>();
  const warnOnce = (reason: string): void => {
    if (warned.has(reason)) return;
    warned.add(reason);
    options.log?.warn({ agentDir: options.agentDir, reason }, 'the one-file agent cannot be used: bundles ship the agent package with its node_modules');
  };

  async function build(p: Plan): Promise<AgentPayload> {
    await mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
    const file = join(options.cacheDir, `${p.key}.tar.gz-part`);
    const exists = await stat(file).then(
      (s) => s.isFile() && s.size > 0,
      () => false,
    );
    if (!exists) {
      await pack(p, options, file);
      for (const name of await readdir(options.cacheDir)) {
        if (name.startsWith('agent-') && name !== `${p.key}.tar.gz-part`) await rm(join(options.cacheDir, name), { force: true });
      }
    }
    return { version: p.version, file, form: p.form, files: p.files.length, bytes: p.files.reduce((sum, f) => sum + f.size, 0) };
  }

  return {
    async get() {
      const p = await plan(options, warnOnce);
      const running = inFlight.get(p.key);
      if (running !== undefined) return running;
      const promise = build(p).finally(() => inFlight.delete(p.key));
      inFlight.set(p.key, promise);
      return promise;
    },
  };
}
