/**
 * `outpost backup create FILE`: asks the running server for a backup archive (POST
 * /api/v1/backups, admin), streams it to FILE.partial, reads it back against its manifest and
 * only then names it FILE. `outpost backup restore FILE --data-dir DIR`: offline, into an empty
 * data dir, with the secret key the archive's CA and keys are sealed with (docs/adr/0012-backup.md).
 */
import { createWriteStream } from 'node:fs';
import { link, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { OutpostError } from '@outpost/protocol';
import { ApiAnswerError, CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags } from '../common-flags.js';
import { resolveConnection } from '../connection.js';
import { printable } from '../terminal-text.js';

const DATABASE_URL_ENV = 'OUTPOST_DATABASE_URL';

function refusePostgres(ctx: CommandContext): void {
  const url = ctx.io.env[DATABASE_URL_ENV];
  if (url !== undefined && url !== '') {
    throw new CliError('CLI_FAILED', `${DATABASE_URL_ENV} is set: the state database is PostgreSQL, use pg_dump (and pg_restore) for it; outpost backup covers the embedded SQLite state only`);
  }
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A backup module error as the CLI's one-line failure. */
function backupFailure(err: unknown): never {
  if (err instanceof OutpostError) throw new CliError('CLI_FAILED', `${err.message} (${err.code})`, { cause: err });
  throw err;
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Back up the running server into FILE (.tar.gz)',
  description:
    'Asks the server (admin) for a consistent snapshot while it runs: the state database (devices, groups, rules, users, rollouts, the CA and keys sealed as they are on disk), ' +
    'the firmware blobs, and a manifest with versions and the SHA-256 of each entry. The archive is written to FILE.partial, read back against its manifest, then renamed to FILE ' +
    '(never over an existing file). The secret key file is NOT in it: back it up apart — without it the CA and keys cannot be opened. ' +
    `Telemetry history (InfluxDB or the embedded store) is not included. With ${DATABASE_URL_ENV} (PostgreSQL), use pg_dump instead.`,
  args: [{ name: 'FILE', description: 'where to write the archive, e.g. outpost-backup.tar.gz' }],
  flags: { ...apiFlags },
  examples: ['outpost backup create /var/backups/outpost-$(date +%F).tar.gz'],
  async run(ctx) {
    refusePostgres(ctx);
    const file = ctx.arg('FILE');
    const partial = `${file}.partial`;
    const connection = await resolveConnection({ flagServer: ctx.string('server'), flagToken: ctx.string('token'), env: ctx.io.env, credentials: ctx.credentials, now: ctx.now(), helpPath: ctx.path });
    const fetchImpl = ctx.io.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchImpl(`${connection.server}/api/v1/backups`, { method: 'POST', headers: { authorization: `Bearer ${connection.token}`, accept: 'application/gzip, application/json' }, redirect: 'error' });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new CliError('CLI_UNREACHABLE', `cannot reach ${connection.server}: ${printable(cause)}`, { cause: err });
    }
    if (!response.ok || response.body === null) {
      const answer = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
      const hint = response.status === 401 ? ` — ${connection.unauthenticatedHint}` : '';
      throw new ApiAnswerError(response.status, typeof answer.code === 'string' ? answer.code : undefined, `${printable(String(answer.message ?? `HTTP ${response.status}`))} (${printable(String(answer.code ?? response.status))})${hint}`);
    }
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') await rm(partial, { force: true });
      throw new CliError('CLI_FAILED', code === 'EEXIST' ? `${printable(partial)} exists: remove it or choose another FILE` : `the backup stream from ${connection.server} broke off: ${printable(err instanceof Error ? err.message : String(err))}`, { cause: err });
    }
    // Loaded on demand: reading an archive needs zlib and the tar reader, other commands do not.
    const { readBackup } = await import('../../backup/read-backup.js');
    let read;
    try {
      read = await readBackup(partial);
    } catch (err) {
      await rm(partial, { force: true });
      return backupFailure(err);
    }
    try {
      // A hard link refuses an existing FILE atomically (EEXIST): a backup is never written over a file.
      await link(partial, file);
      await rm(partial, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError('CLI_FAILED', code === 'EEXIST' ? `${printable(file)} exists: a backup is never written over a file (the verified archive is kept as ${printable(partial)})` : `cannot name the archive ${printable(file)}: ${code ?? String(err)}`, { cause: err });
    }
    const blobs = read.manifest.entries.filter((e) => e.path.startsWith('firmware/')).length;
    const bytes = read.manifest.entries.reduce((sum, e) => sum + e.size, 0);
    ctx.print(`Wrote ${printable(file)}: the state database and ${blobs} firmware blob${blobs === 1 ? '' : 's'} (${sizeText(bytes)} before compression), checked against its manifest.`);
    ctx.note('The secret key file is not in the archive: back it up apart; a restore needs it.');
    return undefined;
  },
};

const restore: CommandSpec = {
  name: 'restore',
  summary: 'Restore a backup into an empty data dir (offline)',
  description:
    'Reads FILE, checks every entry against the manifest (size and SHA-256), the manifest against its MAC, the secret key against the key the CA and keys were sealed with, ' +
    'and the state database with SQLite\'s integrity check — then moves the state database and the firmware blobs into DIR. DIR must be empty or absent: ' +
    'nothing is overwritten, and a refused archive leaves DIR empty. The secret key is read from --secret-key-file; without it, from OUTPOST_SECRET_KEY ' +
    'when set, else the file OUTPOST_SECRET_KEY_FILE, else ./outpost-secret.key. Then start outpost server with OUTPOST_DATA_DIR=DIR and that key; ' +
    `devices reconnect to it once it answers on the host and ports they know (the manifest's server settings are printed). With ${DATABASE_URL_ENV}, use pg_restore.`,
  args: [{ name: 'FILE', description: "an archive written by 'outpost backup create'" }],
  flags: {
    'data-dir': { type: 'string', required: true, valueName: 'DIR', description: 'the empty (or new) data dir to restore into' },
    'secret-key-file': { type: 'string', valueName: 'FILE', description: "the backed-up server's secret key file", default: 'OUTPOST_SECRET_KEY, else OUTPOST_SECRET_KEY_FILE, else ./outpost-secret.key' },
  },
  examples: ['outpost backup restore outpost-backup.tar.gz --data-dir /srv/outpost-data --secret-key-file /secure/outpost-secret.key'],
  async run(ctx) {
    refusePostgres(ctx);
    const archive = ctx.arg('FILE');
    const dataDir = resolve(ctx.string('data-dir') ?? '');
    const { decodeSecretKey } = await import('../../config/secret-key.js');
    const fromEnv = ctx.io.env['OUTPOST_SECRET_KEY'];
    const flagFile = ctx.string('secret-key-file');
    let secretKey: Buffer | undefined;
    let keySource: string;
    if (flagFile === undefined && fromEnv !== undefined && fromEnv !== '') {
      keySource = 'OUTPOST_SECRET_KEY';
      secretKey = decodeSecretKey(fromEnv);
    } else {
      keySource = flagFile ?? ctx.io.env['OUTPOST_SECRET_KEY_FILE'] ?? './outpost-secret.key';
      let text: string;
      try {
        text = await readFile(keySource, 'utf8');
      } catch (err) {
        throw new CliError('CLI_FAILED', `cannot read the secret key file ${printable(keySource)} (${(err as NodeJS.ErrnoException).code ?? String(err)}): the backed-up server's key is needed to open its CA and keys; pass --secret-key-file`, { cause: err });
      }
      secretKey = decodeSecretKey(text);
    }
    if (secretKey === undefined) throw new CliError('CLI_FAILED', `${printable(keySource)} is not a secret key: expected 64 hex characters or 44 base64 characters (32 bytes)`);
    const { restoreBackup } = await import('../../backup/restore-backup.js');
    let result;
    try {
      result = await restoreBackup({ archive, dataDir, secretKey });
    } catch (err) {
      return backupFailure(err);
    }
    const { manifest } = result;
    const s = manifest.server;
    ctx.print(`Restored ${printable(archive)} (made ${new Date(manifest.createdAt).toISOString()} by outpost ${printable(manifest.outpostVersion)}) into ${printable(dataDir)}: ${manifest.entries.length} entries, ${sizeText(result.bytes)}.`);
    ctx.note(
      `Start it with OUTPOST_DATA_DIR=${printable(dataDir)} and this secret key. The backed-up server answered devices as ${printable(s.publicHost)} ` +
        `(device port ${s.devicePort}, MQTT port ${s.mqttPort}); telemetry: ${printable(s.telemetry === 'embedded' ? 'embedded store (its history is not in a backup)' : `InfluxDB at ${s.telemetry}`)}.`,
    );
    return undefined;
  },
};

export const backupCommand: CommandSpec = {
  name: 'backup',
  summary: 'Back up the running server, restore into an empty data dir',
  description:
    'A backup holds the state database with the CA and keys sealed as on disk, the firmware blobs and a manifest (versions, SHA-256 of each entry). ' +
    'The secret key file that unseals the CA and keys is never in it: keep a copy of that file apart from the backups.',
  subcommands: [create, restore],
};
