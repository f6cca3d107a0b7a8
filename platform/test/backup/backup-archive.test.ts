/**
 * The backup archive on real files and a real SQLite state database: written while a writer
 * keeps inserting, read back by our reader and by GNU tar, restored; and the reader's refusals
 * (truncated, foreign entry names, a path that climbs out, duplicates) on archives GNU tar made.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStateDatabase } from '../../src/db/database.js';
import { createBackupStream } from '../../src/backup/write-backup.js';
import { readBackup } from '../../src/backup/read-backup.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { keyCheckOf } from '../../src/backup/backup-manifest.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-backup-unit-'));
  dirs.push(dir);
  return dir;
}

const SERVER = { publicHost: '127.0.0.1', serverNames: [], httpPort: 8080, devicePort: 8443, mqttPort: 8883, telemetry: 'embedded' };

async function backupOf(dataDir: string, secretKey: Buffer, out: string, during?: () => Promise<void>): Promise<void> {
  const opened = openStateDatabase(dataDir);
  try {
    const backup = await createBackupStream({ db: opened.db, dataDir, secretKey, outpostVersion: '0.1.0-test', server: SERVER, now: () => 1_800_000_000_000 });
    await during?.();
    await pipeline(backup.stream, createWriteStream(out));
  } finally {
    await opened.close();
  }
}

describe('backup archive', () => {
  it('is the database at the instant of the snapshot, with the blobs, readable by GNU tar, and restores', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const opened = openStateDatabase(dataDir);
    await sql`CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)`.execute(opened.db);
    for (let i = 0; i < 100; i++) await sql`INSERT INTO things (name) VALUES (${`thing-${i}`})`.execute(opened.db);
    await opened.close();
    const blob = randomBytes(200_000);
    const blobName = 'a'.repeat(64);
    await mkdir(join(dataDir, 'firmware', 'sha256'), { recursive: true });
    await writeFile(join(dataDir, 'firmware', 'sha256', blobName), blob);
    await writeFile(join(dataDir, 'firmware', 'sha256', 'not-a-blob.tmp'), 'ignored');
    const key = randomBytes(32);
    const archive = join(dir, 'backup.tar.gz');

    // Rows another connection writes after the snapshot, while the archive has not been read yet, are not in it.
    const writer = openStateDatabase(dataDir);
    await backupOf(dataDir, key, archive, async () => {
      for (let i = 0; i < 50; i++) await sql`INSERT INTO things (name) VALUES (${`later-${i}`})`.execute(writer.db);
    });
    await writer.close();
    expect(await readdir(join(dataDir, 'backups'))).toEqual([]);

    const listing = (await run('tar', ['-tzf', archive])).stdout.trim().split('\n');
    expect(listing).toEqual(['state.db', `firmware/sha256/${blobName}`, 'manifest.json', 'manifest.mac']);
    const read = await readBackup(archive);
    expect(read.manifest).toMatchObject({ v: 1, kind: 'outpost-backup', outpostVersion: '0.1.0-test', database: 'sqlite', keyCheck: keyCheckOf(key), server: SERVER });
    expect(read.manifest.entries.find((e) => e.path.startsWith('firmware/'))).toMatchObject({ size: blob.length });

    const target = join(dir, 'restored');
    const result = await restoreBackup({ archive, dataDir: target, secretKey: key });
    expect(result.manifest.entries).toHaveLength(2);
    expect((await readdir(target)).sort()).toEqual(['firmware', 'state.db']);
    expect(await readFile(join(target, 'firmware', 'sha256', blobName))).toEqual(blob);
    expect((await stat(join(target, 'state.db'))).mode & 0o777).toBe(0o600);
    const restored = openStateDatabase(target);
    const count = await sql<{ n: number }>`SELECT count(*) AS n FROM things`.execute(restored.db);
    await restored.close();
    expect(count.rows[0]?.n).toBe(100);
  });

  it('refuses a truncated archive, and leaves the target empty', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    await openStateDatabase(dataDir).close();
    const key = randomBytes(32);
    const archive = join(dir, 'backup.tar.gz');
    await backupOf(dataDir, key, archive);
    await truncate(archive, (await stat(archive)).size - 40);
    await expect(readBackup(archive)).rejects.toMatchObject({ code: 'BACKUP_ARCHIVE_INVALID' });
    const target = join(dir, 'restored');
    await expect(restoreBackup({ archive, dataDir: target, secretKey: key })).rejects.toMatchObject({ code: 'BACKUP_ARCHIVE_INVALID' });
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses a manifest edited after the fact (its MAC does not match), and leaves the target empty', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    await openStateDatabase(dataDir).close();
    const key = randomBytes(32);
    const archive = join(dir, 'backup.tar.gz');
    await backupOf(dataDir, key, archive);
    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-xzf', archive, '-C', unpacked]);
    const manifest = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as { server: { publicHost: string } };
    manifest.server.publicHost = 'attacker.example';
    await writeFile(join(unpacked, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const altered = join(dir, 'altered.tar.gz');
    await run('tar', ['-czf', altered, '-C', unpacked, 'state.db', 'manifest.json', 'manifest.mac']);
    const target = join(dir, 'restored');
    await expect(restoreBackup({ archive: altered, dataDir: target, secretKey: key })).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_ALTERED' });
    expect(await readdir(target)).toEqual([]);
    // The untouched archive restores with the same key.
    await expect(restoreBackup({ archive, dataDir: target, secretKey: key })).resolves.toMatchObject({ manifest: { server: { publicHost: '127.0.0.1' } } });
  });

  it.each([
    ['a name no backup has', ['etc-passwd'], /"etc-passwd", which no outpost backup has/],
    ['a path that climbs out', ['../outside'], /"\.\.\/outside", which no outpost backup has/],
    ['a directory', ['firmware'], /not a regular file/],
    ['a long name (PAX header)', [`${'d'.repeat(120)}`], /which no outpost backup has/],
  ])('refuses an archive with %s (made by GNU tar)', async (_name, entries, reason) => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(join(src, 'firmware'), { recursive: true });
    for (const entry of entries) if (entry !== 'firmware' && !entry.startsWith('..')) await writeFile(join(src, entry), 'x');
    if (entries[0]?.startsWith('..') === true) await writeFile(join(dir, 'outside'), 'x');
    const archive = join(dir, 'foreign.tar.gz');
    await run('tar', ['--format=pax', '--absolute-names', '-czf', archive, '-C', src, ...entries]);
    await expect(readBackup(archive)).rejects.toThrow(reason);
  });

  it('refuses an entry listed twice in the archive', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'state.db'), 'x');
    const archive = join(dir, 'twice.tar.gz');
    await run('tar', ['--hard-dereference', '-czf', archive, '-C', src, 'state.db', 'state.db']);
    await expect(readBackup(archive)).rejects.toThrow(/holds state\.db twice/);
  });

  it('refuses an archive without its manifest', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'state.db'), 'x');
    const archive = join(dir, 'bare.tar.gz');
    await run('tar', ['-czf', archive, '-C', src, 'state.db']);
    await expect(readBackup(archive)).rejects.toThrow(/has no manifest\.json/);
  });
});
