import { open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
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
  await replaceCursorFile(cursorsDir, consumer, cursorBytes(consumer, seq));
}

/**
 * Every cursor file is this long: the JSON padded with spaces and a newline, so a later seq
 * overwrites it in place (one write of 128 bytes inside one disk sector, no size change).
 */
export const CURSOR_FILE_BYTES = 128;

function cursorBytes(consumer: string, seq: number): Buffer {
  const text = JSON.stringify({ v: 1, consumer, seq });
  const bytes = Buffer.alloc(CURSOR_FILE_BYTES, 0x20);
  bytes.write(text, 0, 'utf8');
  bytes[CURSOR_FILE_BYTES - 1] = 0x0a;
  return bytes;
}

/**
 * A consumer's cursor file kept open (issue 12): the first write replaces the file atomically
 * (temp file, fsync, rename, directory fsync, as writeCursorFile) at its fixed size; later
 * writes overwrite its 128 bytes in place and fdatasync — one syscall pair per commit instead
 * of open, write, fsync, close, rename, open, fsync, close. A torn write reads as invalid,
 * and the consumer then replays from the oldest record (replays are idempotent).
 */
export class CursorFile {
  readonly #dir: string;
  readonly #consumer: string;
  #handle: FileHandle | undefined;

  constructor(cursorsDir: string, consumer: string) {
    this.#dir = cursorsDir;
    this.#consumer = consumer;
  }

  async write(seq: number): Promise<void> {
    const bytes = cursorBytes(this.#consumer, seq);
    if (this.#handle === undefined) {
      await replaceCursorFile(this.#dir, this.#consumer, bytes);
      this.#handle = await open(path.join(this.#dir, this.#consumer), 'r+');
      return;
    }
    await this.#handle.write(bytes, 0, bytes.length, 0);
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

async function replaceCursorFile(cursorsDir: string, consumer: string, bytes: Buffer): Promise<void> {
  const target = path.join(cursorsDir, consumer);
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
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
