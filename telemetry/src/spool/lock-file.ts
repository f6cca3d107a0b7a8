import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { spoolError } from './spool-errors.js';

/** A held `LOCK` file; release() removes it. */
export interface LockFile {
  release(): Promise<void>;
}

/** When this process started (ms): tells this process from an earlier one with the same pid. */
const startedAt = (): number => Math.round(performance.timeOrigin);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `lockPath`, holding `pid startedAt`: written to a private file first and then
 * hard-linked into place, so the lock never exists without its content. A lock left by a process
 * that no longer exists (a SIGKILL) is taken over — also when a restarted container gives the new
 * process the same pid (its start time differs). A live holder — another process, or this one —
 * is refused with SPOOL_LOCKED, because two writers on one spool would interleave records.
 */
export async function acquireLock(lockPath: string): Promise<LockFile> {
  const mine = `${lockPath}.${process.pid}`;
  await writeFile(mine, `${process.pid} ${startedAt()}\n`, { mode: 0o600 });
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
      const earlierIncarnation = holder === process.pid && Number(startText) !== startedAt();
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder) && !earlierIncarnation) {
        throw spoolError('SPOOL_LOCKED', `the spool ${lockPath} is held by process ${holder}`, {
          details: { lockPath, pid: holder },
        });
      }
      await unlink(lockPath).catch(() => undefined);
    }
    throw spoolError('SPOOL_LOCKED', `could not take the spool lock ${lockPath}`, { details: { lockPath } });
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}
