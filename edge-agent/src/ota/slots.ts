/**
 * A/B slots in a directory HOME: `HOME/a`, `HOME/b` and `HOME/current` → the active one. The
 * app slots are `STATE/apps/{name}`, the agent's are its install root (`/opt/outpost-agent`,
 * launcher.sh). `current` is switched the launcher's atomic way: a new symlink renamed over it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { OutpostError } from '@outpost/protocol';

export type Slot = 'a' | 'b';

export function otherSlot(slot: Slot | undefined): Slot {
  return slot === 'a' ? 'b' : 'a';
}

/** The slot `HOME/current` points at; undefined when there is none (or it names no slot). */
export async function currentSlot(home: string): Promise<Slot | undefined> {
  try {
    const target = basename(await readlink(join(home, 'current')));
    return target === 'a' || target === 'b' ? target : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Not every file system syncs a directory; the rename is atomic anyway.
  } finally {
    await handle.close();
  }
}

/** Points `HOME/current` at `slot` atomically (or removes it when slot is undefined). */
export async function switchCurrent(home: string, slot: Slot | undefined): Promise<void> {
  if (slot === undefined) {
    await rm(join(home, 'current'), { force: true });
  } else {
    const temp = join(home, `.current.${randomBytes(4).toString('hex')}`);
    await symlink(slot, temp);
    try {
      await rename(temp, join(home, 'current'));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
  await syncDir(home);
}

/** Empties `HOME/slot` and extracts the .tar.gz `archive` into it. */
export async function extractIntoSlot(home: string, slot: Slot, archive: string, timeoutMs: number): Promise<string> {
  return extractInto(join(home, slot), archive, timeoutMs);
}

/** Empties `dir` and extracts the .tar.gz `archive` into it. */
export async function extractInto(dir: string, archive: string, timeoutMs: number): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // Loaded on first use, as in run-step.ts.
  const { spawn } = await import('node:child_process');
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    // GNU tar refuses members with `..` and strips a leading `/`; the archive was verified anyway.
    const child = spawn('tar', ['-xzf', archive, '-C', dir, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (b: Buffer) => (output = (output + b.toString('utf8')).slice(-600)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: err.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  if (result.code !== 0) {
    throw new OutpostError('OTA_INSTALL_FAILED', `extracting the artifact into ${dir} failed (tar exit ${result.code ?? 'none'}): ${result.output.trim()}`);
  }
  await syncDir(dir);
  return dir;
}
