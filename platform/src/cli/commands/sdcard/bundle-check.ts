/**
 * Checks that a file is an Outpost install bundle (a gzip'd tar with outpost-bundle/install.sh and
 * outpost-bundle/bundle.json) by reading its tar headers as the archive streams through gunzip,
 * and whether it carries a Node.js runtime (outpost-bundle/runtime/bin/node).
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;
const REQUIRED = ['outpost-bundle/install.sh', 'outpost-bundle/bundle.json'] as const;

/** Where a bundle made with --arch carries its Node.js (edge-agent/bundle/node-runtime.ts). */
const RUNTIME_NODE = 'outpost-bundle/runtime/bin/node';

export type BundleCheck = { readonly ok: true; readonly hasRuntime: boolean } | { readonly ok: false; readonly reason: string };

function text(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

/** The names of the entries of a tar stream, header by header (ustar prefix joined; long-name entries skipped). */
async function* tarNames(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending: Buffer = Buffer.alloc(0);
  let skip = 0;
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (true) {
      if (skip > 0) {
        const dropped = Math.min(skip, pending.length);
        pending = pending.subarray(dropped);
        skip -= dropped;
        if (skip > 0) break;
      }
      if (pending.length < BLOCK) break;
      const header = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (header.every((byte) => byte === 0)) continue;
      const size = Number.parseInt(text(header, 124, 12).trim() || '0', 8);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error('a tar header has an invalid size');
      skip = Math.ceil(size / BLOCK) * BLOCK;
      const prefix = text(header, 345, 155);
      const name = text(header, 0, 100);
      yield prefix === '' ? name : `${prefix}/${name}`;
    }
  }
}

export async function checkBundleFile(path: string): Promise<BundleCheck> {
  const missing = new Set<string>(REQUIRED);
  let hasRuntime = false;
  const source = createReadStream(path);
  const gunzip = createGunzip();
  try {
    for await (const name of tarNames(source.pipe(gunzip))) {
      const entry = name.replace(/^\.\//, '');
      missing.delete(entry);
      if (entry === RUNTIME_NODE) hasRuntime = true;
      if (missing.size === 0 && hasRuntime) return { ok: true, hasRuntime };
    }
  } catch (err) {
    return { ok: false, reason: `it is not a gzip'd tar archive (${(err as Error).message})` };
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  if (missing.size === 0) return { ok: true, hasRuntime };
  return { ok: false, reason: `it is not an Outpost bundle: ${[...missing].join(' and ')} missing (make one with 'outpost agent bundle')` };
}
