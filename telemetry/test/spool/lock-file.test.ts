import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/spool/lock-file.js';
import { SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

describe('spool lock file', () => {
  it('takes over a lock left by a process that no longer exists', async () => {
    const lockPath = path.join(await kit.tempDir(), 'LOCK');
    await writeFile(lockPath, '2147483646 1\n');
    const lock = await acquireLock(lockPath);
    expect((await readFile(lockPath, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    await lock.release();
  });

  it('takes over a lock of an earlier process that had our pid (a restarted container)', async () => {
    const lockPath = path.join(await kit.tempDir(), 'LOCK');
    await writeFile(lockPath, `${process.pid} 1\n`);
    const lock = await acquireLock(lockPath);
    await lock.release();
  });

  it('refuses a lock held by a live process, naming it', async () => {
    const lockPath = path.join(await kit.tempDir(), 'LOCK');
    const lock = await acquireLock(lockPath);
    await expect(acquireLock(lockPath)).rejects.toMatchObject({ code: 'SPOOL_LOCKED', status: 409, details: { pid: process.pid } });
    await lock.release();
    await (await acquireLock(lockPath)).release();
  });
});
