/**
 * Writes tar entries, gzipped, to a file atomically: into a temp file beside the target, synced
 * to disk, then renamed over it — a reader sees the old file or the whole new one, never a
 * part. On any failure the temp file is removed and the error thrown. Entries are pulled one at
 * a time (an async iterable may read each file's bytes only when its turn comes), so a large
 * payload never sits in memory whole.
 */
import { open, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TAR_END, tarEntry, type TarEntry } from './tar-writer.js';

export interface GzipTarFileOptions {
  /**
   * `true`: a whole archive (the two zero blocks at the end). `false`: one gzip member of a
   * larger archive, without them — bundles concatenate members and end with the blocks once.
   */
  readonly endBlocks: boolean;
  /** The file's mode (default 0600). */
  readonly mode?: number;
}

export async function writeGzipTarFile(target: string, entries: Iterable<TarEntry> | AsyncIterable<TarEntry>, options: GzipTarFileOptions): Promise<void> {
  const temp = `${target}.${String(process.pid)}.${String(Date.now())}.tmp`;
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const entry of entries) yield* tarEntry(entry);
    if (options.endBlocks) yield TAR_END;
  }
  const handle = await open(temp, 'w', options.mode ?? 0o600);
  try {
    await pipeline(Readable.from(blocks()), createGzip({ level: 6 }), async (gzipped: AsyncIterable<Buffer>) => {
      for await (const chunk of gzipped) await handle.write(chunk);
    });
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
