/**
 * The staging file of a download: how much of it is verified (the prefix of whole chunks whose
 * SHA-256 matches the manifest), and the whole-file check (size and SHA-256) before installing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { OutpostError } from '@outpost/protocol';
import type { Manifest } from '@outpost/protocol';

/** The byte length of chunk `index` of the manifest (the last one may be shorter). */
export function chunkLength(manifest: Manifest, index: number): number {
  const size = manifest.chunkSize ?? manifest.size;
  return Math.max(0, Math.min(size, manifest.size - index * size));
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * How many leading bytes of `file` are known good, and truncates it there. With per-chunk
 * hashes: the whole chunks that verify (a torn last write or garbage after a power cut is cut
 * off). Without: what the file holds (only the final SHA-256 can tell; see download.ts).
 */
export async function verifiedPrefix(file: string, manifest: Manifest): Promise<number> {
  const size = await sizeOf(file);
  if (size === 0) return 0;
  const handle = await open(file, 'r+');
  try {
    let good = 0;
    if (manifest.chunks === undefined) {
      good = Math.min(size, manifest.size);
    } else {
      for (let index = 0; index < manifest.chunks.length; index += 1) {
        const length = chunkLength(manifest, index);
        if (good + length > size) break;
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, good);
        if (bytesRead !== length) break;
        if (createHash('sha256').update(buffer).digest('hex') !== manifest.chunks[index]) break;
        good += length;
      }
    }
    if (good !== size) await handle.truncate(good);
    await handle.sync();
    return good;
  } finally {
    await handle.close();
  }
}

/** Size and SHA-256 of the whole staged artifact against the manifest; throws the coded refusal. */
export async function verifyStagedFile(file: string, manifest: Manifest): Promise<void> {
  const size = await sizeOf(file);
  if (size !== manifest.size) {
    throw new OutpostError('OTA_SIZE_MISMATCH', `the downloaded artifact is ${size} bytes; the manifest says ${manifest.size}`);
  }
  const hash = createHash('sha256');
  for await (const piece of createReadStream(file)) hash.update(piece as Buffer);
  const digest = hash.digest('hex');
  if (digest !== manifest.sha256) {
    throw new OutpostError('OTA_SHA256_MISMATCH', `the downloaded artifact's SHA-256 is ${digest}; the manifest says ${manifest.sha256}`);
  }
}
