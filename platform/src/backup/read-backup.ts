/**
 * Reads a backup archive as it streams: every entry is hashed (and, for a restore, written
 * into a staging folder); then the manifest is checked against what was read. The archive is
 * untrusted input: only the entry names a backup holds are accepted, each once.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { OutpostError } from '@outpost/protocol';
import { MAC_ENTRY, MANIFEST_ENTRY, isBackupEntry, parseManifest, type BackupEntry, type BackupManifest } from './backup-manifest.js';
import { readTar } from './tar-codec.js';

/** manifest.json and manifest.mac are small; more is not one of ours. */
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

export interface ReadBackup {
  readonly manifest: BackupManifest;
  readonly manifestBytes: Buffer;
  /** Hex MAC from manifest.mac. */
  readonly mac: string;
  /** What the archive held, as read. */
  readonly found: ReadonlyMap<string, BackupEntry>;
}

function archiveInvalid(message: string, cause?: unknown): OutpostError {
  return new OutpostError('BACKUP_ARCHIVE_INVALID', message, { cause });
}

/**
 * Reads `archive` (a .tar.gz); with `stagingDir`, writes each data entry under it (0600).
 * Checks that every entry the manifest lists was read with its size and SHA-256, and that
 * nothing else was.
 */
export async function readBackup(archive: string, stagingDir?: string): Promise<ReadBackup> {
  const found = new Map<string, BackupEntry>();
  const small = new Map<string, Buffer[]>();
  const gunzipped = new PassThrough();
  const unzip = pipeline(createReadStream(archive), createGunzip(), gunzipped).catch((err: NodeJS.ErrnoException) => {
    const reason = err.code === 'ENOENT' ? 'the file does not exist' : err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' ? `it is not intact gzip (${err.message})` : err.message;
    gunzipped.destroy(archiveInvalid(`cannot read the backup ${archive}: ${reason}`, err));
  });
  let current: { path: string; hash: ReturnType<typeof createHash>; size: number; file?: FileHandle; chunks?: Buffer[] } | undefined;
  try {
    for await (const event of readTar(gunzipped)) {
      if (event.kind === 'entry') {
        const { path } = event;
        if (event.type !== 'file') throw archiveInvalid(`the archive holds ${JSON.stringify(path)}, which is not a regular file: not an outpost backup`);
        const known = path === MANIFEST_ENTRY || path === MAC_ENTRY || isBackupEntry(path);
        if (!known) throw archiveInvalid(`the archive holds ${JSON.stringify(path)}, which no outpost backup has`);
        if (found.has(path) || small.has(path)) throw archiveInvalid(`the archive holds ${path} twice`);
        if ((path === MANIFEST_ENTRY || path === MAC_ENTRY) && event.size > MAX_MANIFEST_BYTES) throw archiveInvalid(`${path} is ${event.size} bytes: too large`);
        current = { path, hash: createHash('sha256'), size: 0 };
        if (path === MANIFEST_ENTRY || path === MAC_ENTRY) {
          current.chunks = [];
          small.set(path, current.chunks);
        } else if (stagingDir !== undefined) {
          const target = join(stagingDir, path);
          await mkdir(dirname(target), { recursive: true, mode: 0o700 });
          current.file = await open(target, 'wx', 0o600);
        }
      } else if (event.kind === 'data' && current !== undefined) {
        current.hash.update(event.bytes);
        current.size += event.bytes.length;
        if (current.chunks !== undefined) current.chunks.push(event.bytes);
        else if (current.file !== undefined) await current.file.write(event.bytes);
      } else if (event.kind === 'entry-end' && current !== undefined) {
        if (current.file !== undefined) {
          await current.file.sync();
          await current.file.close();
        }
        if (current.chunks === undefined) found.set(current.path, { path: current.path, size: current.size, sha256: current.hash.digest('hex') });
        current = undefined;
      }
    }
  } catch (err) {
    await current?.file?.close().catch(() => undefined);
    gunzipped.destroy();
    throw err instanceof OutpostError ? err : archiveInvalid(`cannot read the backup ${archive}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  await unzip;
  const manifestChunks = small.get(MANIFEST_ENTRY);
  const macChunks = small.get(MAC_ENTRY);
  if (manifestChunks === undefined || macChunks === undefined) throw archiveInvalid(`the archive has no ${manifestChunks === undefined ? MANIFEST_ENTRY : MAC_ENTRY}: not a complete outpost backup`);
  const manifestBytes = Buffer.concat(manifestChunks);
  const manifest = parseManifest(manifestBytes);
  for (const entry of manifest.entries) {
    const read = found.get(entry.path);
    if (read === undefined) throw new OutpostError('BACKUP_ENTRY_MISMATCH', `${entry.path} is listed in the manifest but missing from the archive`);
    if (read.size !== entry.size || read.sha256 !== entry.sha256) {
      throw new OutpostError('BACKUP_ENTRY_MISMATCH', `${entry.path} does not match the manifest (${read.size} bytes, SHA-256 ${read.sha256}; the manifest says ${entry.size} bytes, ${entry.sha256}): the archive was altered or damaged`);
    }
  }
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const path of found.keys()) if (!listed.has(path)) throw new OutpostError('BACKUP_ENTRY_MISMATCH', `${path} is in the archive but not in its manifest`);
  return { manifest, manifestBytes, mac: Buffer.concat(macChunks).toString('utf8').trim(), found };
}
