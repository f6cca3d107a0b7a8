/**
 * `outpost firmware`: `sign` (offline) makes the signed manifest of an artifact — one JSON
 * file `{manifest, signature}` with size, SHA-256 and the SHA-256 of every 1 MiB chunk;
 * `upload` streams the artifact with its signed manifest (a progress bar on a terminal);
 * `list`, `show`, `delete`.
 */
import { stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { buildManifest, checkManifest, signManifest, type SignedManifest } from '@outpost/ota/signing';
import { readFile } from 'node:fs/promises';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { ApiAnswerError, CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { resolveConnection } from '../connection.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';
import { cliFailure, readPrivateKey } from './signing-key-file.js';

const TYPES = ['archive', 'agent', 'script'] as const;

const Artifact = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  type: Type.String(),
  hardware: Type.Array(Type.String()),
  size: Type.Number(),
  sha256: Type.String(),
  securityVersion: Type.Union([Type.Integer(), Type.Null()]),
  keyId: Type.String(),
  uploadedBy: Type.String(),
  uploadedAt: Type.Number(),
});

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function integerFlag(ctx: CommandContext, name: string): number | undefined {
  const text = ctx.string(name);
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text)) throw ctx.usageError(`--${name} must be a whole number, not "${printable(text)}"`);
  return Number(text);
}

const sign: CommandSpec = {
  name: 'sign',
  summary: 'Make the signed manifest of an artifact (offline)',
  description:
    'Reads ARTIFACT once: size, SHA-256 and the SHA-256 of each 1 MiB chunk (a device checks every chunk before writing it). ' +
    'Writes {manifest, signature} as one JSON file (--out), signed with the Ed25519 key --key over the manifest\'s canonical bytes. ' +
    'The manifest id is a new UUID unless --id is given. The passphrase of an encrypted key comes from OUTPOST_KEY_PASSPHRASE, else a prompt, else stdin.',
  args: [{ name: 'ARTIFACT', description: 'the file to sign' }],
  flags: {
    key: { type: 'string', required: true, valueName: 'FILE', description: 'private signing key' },
    name: { type: 'string', required: true, description: 'artifact name (for apps also its directory: DIR/apps/NAME)' },
    version: { type: 'string', required: true, description: 'semantic version, e.g. 1.4.0' },
    type: { type: 'string', required: true, choices: TYPES, description: 'what the agent does with it' },
    hardware: { type: 'string', required: true, valueName: 'H[,H]', description: 'hardware it runs on, comma-separated' },
    'security-version': { type: 'string', valueName: 'N', description: 'anti-rollback counter: devices refuse a lower one' },
    'activate-cmd': { type: 'string', valueName: 'CMD', description: 'command that activates the installed version' },
    'activate-timeout': { type: 'string', valueName: 'S', description: 'seconds the activate command may take', default: '60' },
    'health-cmd': { type: 'string', valueName: 'CMD', description: 'health check run after activation' },
    'health-attempts': { type: 'string', valueName: 'N', description: 'health check attempts before rollback', default: '3' },
    'health-interval': { type: 'string', valueName: 'S', description: 'seconds between health check attempts', default: '5' },
    'health-timeout': { type: 'string', valueName: 'S', description: 'seconds one health check may take', default: '30' },
    'min-agent-version': { type: 'string', valueName: 'V', description: 'oldest agent that may install it' },
    id: { type: 'string', description: 'manifest id', default: 'a new UUID' },
    out: { type: 'string', required: true, valueName: 'MANIFEST', description: 'where to write the signed manifest (JSON)' },
  },
  examples: ['outpost firmware sign --key release.pem --name freezer-app --version 1.4.0 --type archive --hardware rpi4,rpi5 app.tar.gz --out app-1.4.0.json'],
  async run(ctx) {
    const artifact = ctx.arg('ARTIFACT');
    const out = ctx.string('out') ?? '';
    const activateCmd = ctx.string('activate-cmd');
    const healthCmd = ctx.string('health-cmd');
    const securityVersion = integerFlag(ctx, 'security-version');
    const minAgentVersion = ctx.string('min-agent-version');
    const id = ctx.string('id');
    const hardware = (ctx.string('hardware') ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
    const key = await readPrivateKey(ctx, ctx.string('key') ?? '');
    try {
      await stat(artifact);
    } catch (err) {
      throw new CliError('CLI_FAILED', `cannot read ${printable(artifact)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    let signed: SignedManifest;
    try {
      const manifest = await buildManifest(artifact, {
        name: ctx.string('name') ?? '',
        version: ctx.string('version') ?? '',
        type: (ctx.string('type') ?? 'archive') as (typeof TYPES)[number],
        hardware,
        createdAt: ctx.now(),
        ...(id === undefined ? {} : { id }),
        ...(securityVersion === undefined ? {} : { securityVersion }),
        ...(minAgentVersion === undefined ? {} : { minAgentVersion }),
        ...(activateCmd === undefined ? {} : { activate: { cmd: activateCmd, timeoutS: integerFlag(ctx, 'activate-timeout') ?? 60 } }),
        ...(healthCmd === undefined
          ? {}
          : { healthCheck: { cmd: healthCmd, timeoutS: integerFlag(ctx, 'health-timeout') ?? 30, intervalS: integerFlag(ctx, 'health-interval') ?? 5, attempts: integerFlag(ctx, 'health-attempts') ?? 3 } }),
      });
      signed = signManifest(manifest, key);
    } catch (err) {
      return cliFailure(err);
    }
    try {
      await writeFile(out, `${JSON.stringify(signed, null, 2)}\n`, { flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError('CLI_FAILED', code === 'EEXIST' ? `${printable(out)} exists: choose another --out` : `cannot write ${printable(out)}: ${code ?? String(err)}`, { cause: err });
    }
    ctx.note(`Signed ${signed.manifest.name} ${signed.manifest.version} (${sizeText(signed.manifest.size)}, ${signed.manifest.chunks?.length ?? 0} chunks) with ${key.keyId}; wrote ${printable(out)}.`);
    ctx.print(signed.manifest.id);
    return undefined;
  },
};

async function readSigned(path: string): Promise<SignedManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    throw new CliError('CLI_FAILED', `cannot read the signed manifest ${printable(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const signature = record['signature'];
  if (typeof signature !== 'object' || signature === null || typeof (signature as Record<string, unknown>)['keyId'] !== 'string' || typeof (signature as Record<string, unknown>)['sig'] !== 'string') {
    throw new CliError('CLI_FAILED', `${printable(path)} is not a signed manifest ({manifest, signature}) as 'outpost firmware sign' writes it`);
  }
  try {
    return { manifest: checkManifest(record['manifest']), signature: { keyId: String((signature as Record<string, unknown>)['keyId']), sig: String((signature as Record<string, unknown>)['sig']) } };
  } catch (err) {
    return cliFailure(err);
  }
}

/** A progress line on a terminal's stderr, at most every 1 % (nothing when stderr is not a terminal). */
function progress(ctx: CommandContext, total: number): { advance(bytes: number): void; done(): void } {
  const tty = (ctx.io.stderr as { isTTY?: boolean }).isTTY === true;
  let sent = 0;
  let shown = -1;
  const draw = (): void => {
    const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
    if (percent === shown) return;
    shown = percent;
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    ctx.io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${sizeText(sent)} / ${sizeText(total)}`);
  };
  return {
    advance(bytes) {
      sent += bytes;
      if (tty) draw();
    },
    done() {
      if (tty) ctx.io.stderr.write('\n');
    },
  };
}

const upload: CommandSpec = {
  name: 'upload',
  summary: 'Upload an artifact with its signed manifest',
  description:
    'Streams ARTIFACT and the signed manifest (from \'outpost firmware sign\') to the platform, which checks size, every chunk, the SHA-256 and the signature ' +
    'against the registered keys while the bytes arrive. Uploading the same artifact again is harmless.',
  args: [{ name: 'ARTIFACT', description: 'the artifact file' }],
  flags: { manifest: { type: 'string', required: true, valueName: 'MANIFEST', description: "the signed manifest written by 'outpost firmware sign'" }, ...jsonFlag, ...apiFlags },
  examples: ['outpost firmware upload app.tar.gz --manifest app-1.4.0.json'],
  async run(ctx) {
    const artifact = ctx.arg('ARTIFACT');
    const signed = await readSigned(ctx.string('manifest') ?? '');
    let size: number;
    try {
      size = (await stat(artifact)).size;
    } catch (err) {
      throw new CliError('CLI_FAILED', `cannot read ${printable(artifact)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    if (size !== signed.manifest.size) throw new CliError('CLI_FAILED', `${printable(artifact)} is ${size} bytes, the manifest says ${signed.manifest.size}: is it the file that was signed?`);
    const connection = await resolveConnection({ flagServer: ctx.string('server'), flagToken: ctx.string('token'), env: ctx.io.env, credentials: ctx.credentials, now: ctx.now(), helpPath: ctx.path });
    const boundary = `outpost-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(signed.manifest)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(signed.signature)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="${basename(artifact).replace(/["\r\n\\]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const bar = progress(ctx, size);
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of createReadStream(artifact)) {
        const bytes = chunk as Buffer;
        bar.advance(bytes.length);
        yield bytes;
      }
      yield tail;
    }
    const fetchImpl = ctx.io.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchImpl(`${connection.server}/api/v1/firmware`, {
        method: 'POST',
        headers: { authorization: `Bearer ${connection.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'application/json' },
        body: Readable.toWeb(Readable.from(body())) as ReadableStream<Uint8Array>,
        duplex: 'half',
        redirect: 'error',
      } as RequestInit);
    } catch (err) {
      bar.done();
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new CliError('CLI_UNREACHABLE', `upload to ${connection.server} failed: ${printable(cause)}`, { cause: err });
    }
    bar.done();
    let answer: unknown;
    try {
      answer = await response.json();
    } catch (err) {
      throw new CliError('CLI_BAD_RESPONSE', `unexpected answer from ${connection.server} to POST /firmware: HTTP ${response.status}, not JSON`, { cause: err });
    }
    if (!response.ok) {
      const e = answer as { code?: unknown; message?: unknown };
      const hint = response.status === 401 ? ` — ${connection.unauthenticatedHint}` : '';
      throw new ApiAnswerError(response.status, typeof e.code === 'string' ? e.code : undefined, `${printable(String(e.message ?? `HTTP ${response.status}`))} (${printable(String(e.code ?? response.status))})${hint}`);
    }
    if (!Value.Check(Artifact, answer)) throw new CliError('CLI_BAD_RESPONSE', `unexpected answer from ${connection.server} to POST /firmware`);
    if (ctx.boolean('json')) ctx.print(JSON.stringify(answer, null, 2));
    else ctx.print(`${response.status === 201 ? 'Uploaded' : 'Already stored:'} ${answer.id} ${printable(answer.name)} ${printable(answer.version)} (${sizeText(answer.size)}, sha256 ${answer.sha256.slice(0, 12)}…, signed by ${answer.keyId}).`);
    return undefined;
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List firmware artifacts, newest upload first',
  flags: { ...listFlags, ...apiFlags },
  async run(ctx) {
    await printList(ctx, {
      path: '/firmware',
      item: Artifact,
      noun: 'firmware artifacts',
      columns: [
        { header: 'id', value: (a) => a.id },
        { header: 'name', value: (a) => a.name },
        { header: 'version', value: (a) => a.version },
        { header: 'type', value: (a) => a.type },
        { header: 'size', value: (a) => sizeText(a.size) },
        { header: 'key', value: (a) => a.keyId },
        { header: 'uploaded', value: (a) => formatTime(a.uploadedAt) },
      ],
    });
  },
};

const remove: CommandSpec = {
  name: 'delete',
  summary: 'Delete a firmware artifact no unfinished rollout uses',
  args: [{ name: 'ID', description: 'artifact (manifest) id' }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const id = ctx.arg('ID');
    await api.send('DELETE', `/firmware/${encodeURIComponent(id)}`);
    ctx.print(`Deleted firmware ${printable(id)}.`);
  },
};

export const firmwareCommand: CommandSpec = {
  name: 'firmware',
  summary: 'Firmware artifacts: sign (offline), upload, list, delete',
  description: "Sign an artifact with an OTA signing key ('outpost keys'), upload it, then roll it out ('outpost rollouts').",
  subcommands: [sign, upload, list, remove],
};
