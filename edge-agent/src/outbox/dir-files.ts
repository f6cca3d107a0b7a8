/** File-system helpers of the outbox directory: segment names, directory fsync, the lock. */
import { link, mkdir, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { outboxError } from './outbox-errors.js';

const SEGMENT_RE = /^(\d{20})\.seg$/;

/** `00000000000000000001.seg`: a segment is named by the seq of its first record. */
export function segmentFileName(base: number): string {
  return `${String(base).padStart(20, '0')}.seg`;
}

export async function listSegmentBases(dir: string): Promise<number[]> {
  const bases: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_RE.exec(name);
    if (match?.[1] !== undefined) bases.push(Number(match[1]));
  }
  return bases.sort((a, b) => a - b);
}

/** fsync a directory, so the names created, renamed or removed in it survive a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensureDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await syncDirectory(path.dirname(path.resolve(dir)));
}

export interface DirectoryLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir/LOCK` (`pid startTime`, written aside and hard-linked into place so it never exists
 * empty). A lock whose process is gone (SIGKILL, power cut), or that an earlier incarnation with
 * the same pid left (a restarted container), is taken over; a live holder is OUTBOX_LOCKED:
 * two writers would interleave records.
 */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  const lockPath = path.join(dir, 'LOCK');
  const startedAt = String(Math.round(performance.timeOrigin));
  const mine = `${lockPath}.${process.pid}`;
  await writeFile(mine, `${process.pid} ${startedAt}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await link(mine, lockPath);
        return { release: () => unlink(lockPath).catch(() => undefined) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const [pidText = '', startText = ''] = (await readFile(lockPath, 'utf8').catch(() => '')).trim().split(' ');
      const holder = Number.parseInt(pidText, 10);
      const earlierIncarnation = holder === process.pid && startText !== startedAt;
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder) && !earlierIncarnation) {
        throw outboxError('OUTBOX_LOCKED', `the outbox ${dir} is in use by process ${holder}`, { details: { dir, pid: holder } });
      }
      await unlink(lockPath).catch(() => undefined);
    }
    throw outboxError('OUTBOX_LOCKED', `could not lock the outbox ${dir}`, { details: { dir } });
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}
