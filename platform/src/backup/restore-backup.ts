/**
 * `outpost backup restore`: a backup archive into an empty (or new) data dir, offline. The
 * archive is read into a staging folder inside the target and checked whole — every entry
 * against the manifest, the secret key against the manifest's key check, the manifest against
 * its MAC, the database with SQLite's integrity check — before anything is moved into place;
 * a refusal leaves the target as empty as it was.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { OutpostError } from '@outpost/protocol';
import { STATE_DB_ENTRY, keyCheckOf, manifestMacOf, sameHex, type BackupManifest } from './backup-manifest.js';
import { readBackup } from './read-backup.js';

export interface RestoreInput {
  readonly archive: string;
  readonly dataDir: string;
  /** The 32-byte secret key the backed-up server sealed its CA and keys with. */
  readonly secretKey: Buffer;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly bytes: number;
}

/** Refuses a data dir that holds anything; creates a missing one (0700). */
async function prepareTarget(dataDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      return;
    }
    throw new OutpostError('BACKUP_TARGET_NOT_EMPTY', `cannot use ${dataDir} as the data dir: ${code ?? String(err)}`, { cause: err });
  }
  if (names.length > 0) {
    const shown = names.sort().slice(0, 5).join(', ');
    throw new OutpostError(
      'BACKUP_TARGET_NOT_EMPTY',
      `${dataDir} is not empty (it holds ${shown}${names.length > 5 ? ', …' : ''}): a backup is restored only into an empty or new data dir, so nothing there is overwritten or mixed with it`,
    );
  }
}

function checkDatabase(file: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new OutpostError('BACKUP_ARCHIVE_INVALID', `the backed-up state database fails SQLite's integrity check: ${String(result)}`);
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('BACKUP_ARCHIVE_INVALID', `the backed-up state database does not open: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    db?.close();
  }
}

export async function restoreBackup(input: RestoreInput): Promise<RestoreResult> {
  await prepareTarget(input.dataDir);
  const staging = join(input.dataDir, `.restore-${randomUUID()}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const read = await readBackup(input.archive, staging);
    if (!sameHex(read.manifest.keyCheck, keyCheckOf(input.secretKey))) {
      throw new OutpostError(
        'BACKUP_SECRET_KEY_MISMATCH',
        "the secret key given is not the one this backup's CA and keys are sealed with: restore with the backed-up server's secret key file (OUTPOST_SECRET_KEY_FILE) or OUTPOST_SECRET_KEY",
      );
    }
    if (!sameHex(read.mac, manifestMacOf(input.secretKey, read.manifestBytes))) {
      throw new OutpostError('BACKUP_MANIFEST_ALTERED', "the backup's manifest.json is not the one the server wrote (its MAC does not match): the archive was altered");
    }
    checkDatabase(join(staging, STATE_DB_ENTRY));
    let bytes = 0;
    for (const entry of read.manifest.entries) {
      const target = join(input.dataDir, entry.path);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await rename(join(staging, entry.path), target);
      bytes += entry.size;
    }
    return { manifest: read.manifest, bytes };
  } catch (err) {
    // Nothing of a refused archive stays: the target is empty again.
    for (const name of await readdir(input.dataDir).catch(() => [] as string[])) await rm(join(input.dataDir, name), { recursive: true, force: true });
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
