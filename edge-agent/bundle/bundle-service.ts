/**
 * The agent install bundle (SPEC "HTTP API": `POST /agent-bundles`): a `.tar.gz` with the
 * agent (one bundled file, or the package and its node_modules: agent-payload.ts), a one-time enrollment token for a group, the CA chain that
 * pins the platform, a default agent.json, install.sh, the launcher and the systemd units.
 * Layout (all under `outpost-bundle/`):
 *
 *   bundle.json                      {v, server, token, tokenId, group, tags, caFingerprint, agentVersion, expiresAt, createdAt}
 *   ca.pem                           the trusted CA chain (active first)
 *   agent.json                       default agent configuration (system metrics every 10 s)
 *   install.sh, launcher.sh, helper.sh, outpost-agent.service, outpost-agent-firstboot.service,
 *   outpost-agent-helper.service, outpost-agent-helper.path
 *   agent/                           package.json and dist/src/main.js (the one-file agent and its
 *                                    on-demand chunks), or the agent package with its node_modules
 *   runtime/                         only when asked for: Node.js for the device's architecture
 *                                    (bin/node, LICENSE, runtime.json: node-runtime.ts)
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { OutpostError } from '@outpost/protocol';
import type { AgentPayload } from './agent-payload.js';
import { isLoopbackHost } from './loopback-host.js';
import type { RuntimeChoice, RuntimePart } from './node-runtime.js';
import { TAR_END, tarEntry, type TarEntry } from './tar-writer.js';

export const BUNDLE_PREFIX = 'outpost-bundle';
/** The files of the agent package's `install/` directory copied to the bundle's top. */
export const INSTALL_FILES: readonly { readonly name: string; readonly mode: number }[] = [
  { name: 'install.sh', mode: 0o755 },
  { name: 'launcher.sh', mode: 0o755 },
  { name: 'outpost-agent.service', mode: 0o644 },
  { name: 'outpost-agent-firstboot.service', mode: 0o644 },
  { name: 'helper.sh', mode: 0o755 },
  { name: 'outpost-agent-helper.service', mode: 0o644 },
  { name: 'outpost-agent-helper.path', mode: 0o644 },
];
/** agent.json of a fresh install: the system collector every 10 s (SPEC "Commands"). */
export const DEFAULT_AGENT_CONFIG = { v: 1, collectors: [{ type: 'system', intervalMs: 10_000 }] } as const;

/** The end blocks as their own gzip member, appended after the cached agent part. */
const END_MEMBER = gzipSync(TAR_END);

export interface BundleRequest {
  readonly group: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly ttlSeconds: number;
  readonly allowLoopback: boolean;
  /** The operator asking; recorded as the token's creator. */
  readonly createdBy: string;
  /** The Node.js runtime the bundle carries (node-runtime.ts); absent: none. */
  readonly runtime?: RuntimeChoice;
}

export interface BundleManifest {
  readonly v: 1;
  readonly server: string;
  readonly token: string;
  readonly tokenId: string;
  readonly group: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly caFingerprint: string;
  readonly agentVersion: string;
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The Node.js runtime in `runtime/`, when the bundle carries one. */
  readonly runtime?: { readonly arch: string; readonly version: string };
}

export interface Bundle {
  readonly filename: string;
  readonly manifest: BundleManifest;
  /** The `.tar.gz`, streamed. */
  readonly stream: Readable;
  /** Compressed size, known up front (every member is on disk or in memory before streaming starts). */
  readonly size: number;
}

export interface BundleServiceDeps {
  readonly publicHost: string;
  /** `https://{publicHost}:{device port}`. */
  readonly deviceApiUrl: () => string;
  readonly caChainPem: () => string;
  readonly caFingerprint: () => string;
  /** The packed agent (see agent-payload.ts) and the directory of its package. */
  readonly agent: () => Promise<{ payload: AgentPayload; packageDir: string }>;
  /** Creates the one-time enrollment token. */
  readonly createToken: (input: { group: string; tags?: Readonly<Record<string, string>>; ttlSeconds: number; createdBy: string }) => Promise<{ id: string; secret: string; expiresAt: number }>;
  readonly now: () => number;
  /** The packed runtime for a choice (node-runtime.ts `createRuntimeStore`); absent: runtimes are refused. */
  readonly runtime?: (choice: RuntimeChoice) => Promise<RuntimePart>;
}

export interface BundleService {
  create(request: BundleRequest): Promise<Bundle>;
}

function loopbackRefusal(host: string): OutpostError {
  return new OutpostError(
    'BUNDLE_PUBLIC_HOST_LOOPBACK',
    `OUTPOST_PUBLIC_HOST is ${host}, a loopback address: a device that installs this bundle could never reach the platform. ` +
      'Set OUTPOST_PUBLIC_HOST to a name or address devices can reach, or allow a loopback host explicitly (allowLoopback, or --allow-loopback in the CLI) for a device on this machine.',
    { status: 400, details: { publicHost: host } },
  );
}

async function installFiles(packageDir: string): Promise<{ name: string; mode: number; data: Buffer }[]> {
  const files = [];
  for (const { name, mode } of INSTALL_FILES) {
    const path = join(packageDir, 'install', name);
    try {
      files.push({ name, mode, data: await readFile(path) });
    } catch (err) {
      throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `the installed agent lacks ${path}`, { cause: err });
    }
  }
  return files;
}

export function createBundleService(deps: BundleServiceDeps): BundleService {
  return {
    async create(request) {
      if (!request.allowLoopback && isLoopbackHost(deps.publicHost)) throw loopbackRefusal(deps.publicHost);
      // Everything that can fail goes before the token, so a failure never leaves one behind.
      const { payload, packageDir } = await deps.agent();
      const scripts = await installFiles(packageDir);
      let runtime: RuntimePart | undefined;
      if (request.runtime !== undefined) {
        if (deps.runtime === undefined) throw new OutpostError('BUNDLE_RUNTIME_UNAVAILABLE', 'this server does not put Node.js runtimes into bundles', { status: 503 });
        runtime = await deps.runtime(request.runtime);
      }
      const server = deps.deviceApiUrl();
      const chain = deps.caChainPem();
      const caFingerprint = deps.caFingerprint();
      const createdAt = deps.now();
      // Opened now, so a repack that replaces the cached part cannot pull it from under us.
      const agentFile = await open(payload.file, 'r');
      const runtimeFile = runtime === undefined ? undefined : await open(runtime.file, 'r').catch(async (err: unknown) => {
        await agentFile.close();
        throw err;
      });
      let agentSize: number;
      let runtimeSize = 0;
      let token: Awaited<ReturnType<BundleServiceDeps['createToken']>>;
      try {
        agentSize = (await agentFile.stat()).size;
        if (runtimeFile !== undefined) runtimeSize = (await runtimeFile.stat()).size;
        token = await deps.createToken({ group: request.group, ttlSeconds: request.ttlSeconds, createdBy: request.createdBy, ...(request.tags === undefined ? {} : { tags: request.tags }) });
      } catch (err) {
        await agentFile.close();
        await runtimeFile?.close();
        throw err;
      }
      const manifest: BundleManifest = {
        v: 1,
        server,
        token: token.secret,
        tokenId: token.id,
        group: request.group,
        tags: { ...request.tags },
        caFingerprint,
        agentVersion: payload.version,
        expiresAt: token.expiresAt,
        createdAt,
        ...(runtime === undefined ? {} : { runtime: { arch: runtime.arch, version: runtime.version } }),
      };
      const text = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
      const entries: TarEntry[] = [
        { type: 'directory', path: BUNDLE_PREFIX, mode: 0o755, mtime: createdAt },
        { type: 'file', path: `${BUNDLE_PREFIX}/bundle.json`, data: text(manifest), mode: 0o600, mtime: createdAt },
        { type: 'file', path: `${BUNDLE_PREFIX}/ca.pem`, data: Buffer.from(chain, 'utf8'), mode: 0o644, mtime: createdAt },
        { type: 'file', path: `${BUNDLE_PREFIX}/agent.json`, data: text(DEFAULT_AGENT_CONFIG), mode: 0o644, mtime: createdAt },
        ...scripts.map((s): TarEntry => ({ type: 'file', path: `${BUNDLE_PREFIX}/${s.name}`, data: s.data, mode: s.mode, mtime: createdAt })),
      ];
      const head = gzipSync(Buffer.concat(entries.flatMap((e) => tarEntry(e))));
      // Members in order: the small files, the runtime (when asked for), the agent, the end blocks.
      const parts = [...(runtimeFile === undefined ? [] : [runtimeFile.createReadStream()]), agentFile.createReadStream()];
      const stream = new PassThrough();
      for (const part of parts) part.on('error', (err) => stream.destroy(err));
      stream.on('close', () => {
        for (const part of parts) part.destroy();
      });
      stream.write(head);
      const next = (i: number): void => {
        const part = parts[i];
        if (part === undefined) {
          stream.end(END_MEMBER);
          return;
        }
        part.pipe(stream, { end: false });
        part.on('end', () => next(i + 1));
      };
      next(0);
      const suffix = runtime === undefined ? '' : `-${runtime.arch}`;
      return { filename: `outpost-agent-${request.group}${suffix}.tar.gz`, manifest, stream, size: head.length + runtimeSize + agentSize + END_MEMBER.length };
    },
  };
}
