import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from './segment-files.js';

/** A consumer name: also its cursor file's name. */
export const CONSUMER_NAME_RE = /^[a-z][a-z0-9-]{0,63}$/;

/** What a cursor file says: `{"v":1,"consumer":"ingest","seq":42}`. */
export type CursorRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'valid'; readonly seq: number }
  | { readonly kind: 'invalid'; readonly text: string };

export async function readCursorFile(cursorsDir: string, consumer: string): Promise<CursorRead> {
  let text: string;
  try {
    text = await readFile(path.join(cursorsDir, consumer), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'seq' in parsed) {
      const seq = parsed.seq;
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return { kind: 'valid', seq };
    }
  } catch {
    // reported as invalid below
  }
  return { kind: 'invalid', text: text.slice(0, 200) };
}

/** Writes the cursor atomically: temp file, fsync, rename over the old one, fsync the directory. */
export async function writeCursorFile(cursorsDir: string, consumer: string, seq: number): Promise<void> {
  const target = path.join(cursorsDir, consumer);
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ v: 1, consumer, seq })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await syncDirectory(cursorsDir);
}

/** Removes temp files a crash left between write and rename. */
export async function removeStaleCursorTemps(cursorsDir: string): Promise<void> {
  for (const name of await readdir(cursorsDir)) {
    if (name.endsWith('.tmp')) await unlink(path.join(cursorsDir, name)).catch(() => undefined);
  }
}
