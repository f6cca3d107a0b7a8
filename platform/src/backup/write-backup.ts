/**
 * Makes a backup archive while the server runs: first a consistent copy of the state database
 * (`VACUUM INTO` on the server's own connection: one read transaction, so the copy is the
 * database at one instant, writers are held only for its duration), then the firmware blobs
 * present (content-addressed and never modified in place: a blob is whole or absent), then
 * the manifest. The archive is a lazily pulled stream: nothing is read ahead of the client.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { sql } from 'kysely';
import { TAR_END, tarHeader, tarPadding } from '@outpost/edge-agent/bundle';
import { OutpostError } from '@outpost/protocol';
import type { StateDatabase } from '@outpost/kernel';
import { BACKUP_FORMAT, MAC_ENTRY, MANIFEST_ENTRY, STATE_DB_ENTRY, keyCheckOf, manifestMacOf, type BackedUpServer, type BackupEntry, type BackupManifest } from './backup-manifest.js';

export interface BackupSource {
  readonly db: StateDatabase;
  readonly dataDir: string;
  readonly secretKey: Buffer;
  readonly outpostVersion: string;
  readonly server: BackedUpServer;
  readonly now: () => number;
}

export interface BackupStream {
  /** The .tar.gz bytes; the snapshot file is removed when the stream ends or is destroyed. */
  readonly stream: Readable;
  /** Entries known before streaming (the database snapshot and the blobs found). */
  readonly entries: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Takes the database snapshot now and answers the archive stream that carries it and the rest. */
export async function createBackupStream(source: BackupSource): Promise<BackupStream> {
  const workDir = join(source.dataDir, 'backups');
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const snapshot = join(workDir, `snapshot-${randomUUID()}.db`);
  let sqliteVersion: string;
  try {
    await sql`VACUUM INTO ${snapshot}`.execute(source.db);
    const version = await sql<{ v: string }>`SELECT sqlite_version() AS v`.execute(source.db);
    sqliteVersion = version.rows[0]?.v ?? 'unknown';
  } catch (err) {
    await rm(snapshot, { force: true });
    throw new OutpostError('BACKUP_SNAPSHOT_FAILED', `could not copy the state database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const blobDir = join(source.dataDir, 'firmware', 'sha256');
  const blobs = (await readdir(blobDir).catch(() => [] as string[])).filter((name) => SHA256_HEX.test(name)).sort();
  const files = [{ path: STATE_DB_ENTRY, file: snapshot }, ...blobs.map((name) => ({ path: `firmware/sha256/${name}`, file: join(blobDir, name) }))];

  async function* tarStream(): AsyncGenerator<Buffer> {
    try {
      const entries: BackupEntry[] = [];
      const createdAt = source.now();
      for (const { path, file } of files) {
        const { size } = await stat(file);
        yield tarHeader({ type: 'file', path, size, mode: 0o600, mtime: createdAt });
        const hash = createHash('sha256');
        let read = 0;
        for await (const chunk of createReadStream(file)) {
          const bytes = chunk as Buffer;
          read += bytes.length;
          if (read > size) break;
          hash.update(bytes);
          yield bytes;
        }
        if (read !== size) throw new OutpostError('BACKUP_SNAPSHOT_FAILED', `${path} changed size while it was copied (${size} bytes, then ${read})`);
        yield tarPadding(size);
        entries.push({ path, size, sha256: hash.digest('hex') });
      }
      const manifest: BackupManifest = {
        v: BACKUP_FORMAT,
        kind: 'outpost-backup',
        createdAt,
        outpostVersion: source.outpostVersion,
        nodeVersion: process.version,
        sqliteVersion,
        database: 'sqlite',
        keyCheck: keyCheckOf(source.secretKey),
        server: source.server,
        entries,
      };
      const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      const mac = Buffer.from(`${manifestMacOf(source.secretKey, manifestBytes)}\n`);
      for (const [path, bytes] of [[MANIFEST_ENTRY, manifestBytes], [MAC_ENTRY, mac]] as const) {
        yield tarHeader({ type: 'file', path, size: bytes.length, mode: 0o600, mtime: createdAt });
        yield bytes;
        yield tarPadding(bytes.length);
      }
      yield TAR_END;
    } finally {
      await rm(snapshot, { force: true });
    }
  }

  const tar = Readable.from(tarStream(), { objectMode: false });
  const gzip = createGzip();
  tar.on('error', (err) => gzip.destroy(err));
  // Destroyed before its first read, the generator never runs its `finally`: remove the copy here too.
  tar.on('close', () => void rm(snapshot, { force: true }).catch(() => undefined));
  gzip.on('close', () => tar.destroy());
  return { stream: tar.pipe(gzip), entries: files.length };
}
