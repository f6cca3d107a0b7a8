/**
 * Firmware blobs on disk, content-addressed: `DATA_DIR/firmware/sha256/<hex>`. A blob is
 * written to a temporary file in `DATA_DIR/firmware/tmp/` (a name the server makes, never
 * one a client sent), fsynced, then renamed into place, so a blob file is always whole.
 * Leftover temporary files (a crash mid-upload) are removed at start.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A temporary file being written; `commit` moves it to its content address, `discard` removes it. */
export interface BlobWriter {
  readonly path: string;
  write(bytes: Uint8Array): Promise<void>;
  commit(sha256: string): Promise<void>;
  discard(): Promise<void>;
}

export class BlobStore {
  readonly #blobs: string;
  readonly #tmp: string;

  /** `root`: OUTPOST_FIRMWARE_DIR (default DATA_DIR/firmware; a shared directory in a cluster, ADR 0011). */
  constructor(root: string) {
    this.#blobs = join(root, 'sha256');
    this.#tmp = join(root, 'tmp');
  }

  get tmpDir(): string {
    return this.#tmp;
  }

  /** Creates the folders (0700) and removes leftover temporary files; returns how many. */
  async open(): Promise<number> {
    await mkdir(this.#blobs, { recursive: true, mode: 0o700 });
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    const leftovers = await readdir(this.#tmp);
    await Promise.all(leftovers.map((name) => rm(join(this.#tmp, name), { force: true })));
    return leftovers.length;
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256 hex digest: ${sha256}`);
    return join(this.#blobs, sha256);
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return undefined;
    }
  }

  async create(): Promise<BlobWriter> {
    const path = join(this.#tmp, `${randomUUID()}.part`);
    const handle: FileHandle = await open(path, 'wx', 0o600);
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await handle.close();
    };
    return {
      path,
      write: async (bytes) => {
        let offset = 0;
        while (offset < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
          offset += bytesWritten;
        }
      },
      commit: async (sha256) => {
        await handle.sync();
        await close();
        await rename(path, this.pathOf(sha256));
        const dir = await open(this.#blobs, 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      },
      discard: async () => {
        await close().catch(() => undefined);
        await rm(path, { force: true });
      },
    };
  }

  read(sha256: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(sha256), range === undefined ? {} : { start: range.start, end: range.end });
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}
