/**
 * The tar reader of backup archives: yields headers and data as they arrive, so a
 * multi-gigabyte firmware blob never sits in memory. PAX `path` records are read (GNU tar
 * writes them for long names). Archives are written by the project's one tar writer
 * (`tarHeader`/`tarPadding`/`TAR_END` of @outpost/edge-agent/bundle).
 */
import { BLOCK as TAR_BLOCK } from '@outpost/edge-agent/bundle';
import { OutpostError } from '@outpost/protocol';

/** A PAX extended header larger than this is not one of ours. */
const MAX_PAX_BYTES = 64 * 1024;

function invalid(message: string): OutpostError {
  return new OutpostError('BACKUP_ARCHIVE_INVALID', `the archive is not a readable tar: ${message}`);
}

export type TarEvent =
  | { readonly kind: 'entry'; readonly path: string; readonly size: number; readonly type: 'file' | 'directory' | 'other'; readonly mode: number }
  | { readonly kind: 'data'; readonly bytes: Buffer }
  | { readonly kind: 'entry-end' };

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, length: number, what: string): number {
  const text = readString(block, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw invalid(`${what} is not octal`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = readOctal(block, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === stored;
}

/** `path` of a PAX extended header's records, if it has one. */
function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) throw invalid('a PAX record has no length');
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) throw invalid('a PAX record length is wrong');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

/**
 * Reads a tar stream: each entry's header, its bytes as they arrive, and its end. Checksums
 * are verified; a stream that stops before the end blocks is BACKUP_ARCHIVE_INVALID.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEvent> {
  let pending = Buffer.alloc(0);
  let state: 'header' | 'data' | 'pad' | 'pax' | 'done' = 'header';
  let remaining = 0;
  let padLeft = 0;
  let paxData: Buffer[] = [];
  let nextPath: string | undefined;
  for await (const chunk of source) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    for (;;) {
      if (state === 'done') break;
      if (state === 'header') {
        if (pending.length < TAR_BLOCK) break;
        const block = pending.subarray(0, TAR_BLOCK);
        pending = pending.subarray(TAR_BLOCK);
        if (block.every((b) => b === 0)) {
          state = 'done';
          break;
        }
        if (!checksumOk(block)) throw invalid('a header checksum does not match (damaged archive)');
        const typeflag = readString(block, 156, 1);
        const size = readOctal(block, 124, 12, 'size');
        padLeft = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
        remaining = size;
        if (typeflag === 'x') {
          if (size > MAX_PAX_BYTES) throw invalid('a PAX header is too large');
          paxData = [];
          state = 'pax';
          continue;
        }
        const prefix = readString(block, 345, 155);
        const name = readString(block, 0, 100);
        const path = nextPath ?? (prefix === '' ? name : `${prefix}/${name}`);
        nextPath = undefined;
        const type = typeflag === '0' || typeflag === '' ? 'file' : typeflag === '5' ? 'directory' : 'other';
        yield { kind: 'entry', path, size, type, mode: readOctal(block, 100, 8, 'mode') };
        state = 'data';
        continue;
      }
      if (state === 'data' || state === 'pax') {
        if (remaining > 0) {
          if (pending.length === 0) break;
          const take = Math.min(remaining, pending.length);
          const bytes = pending.subarray(0, take);
          pending = pending.subarray(take);
          remaining -= take;
          if (state === 'pax') paxData.push(Buffer.from(bytes));
          else yield { kind: 'data', bytes: Buffer.from(bytes) };
          if (remaining > 0) break;
        }
        if (state === 'pax') nextPath = paxPath(Buffer.concat(paxData));
        else yield { kind: 'entry-end' };
        state = 'pad';
        continue;
      }
      // state === 'pad'
      if (padLeft > 0) {
        const take = Math.min(padLeft, pending.length);
        pending = pending.subarray(take);
        padLeft -= take;
        if (padLeft > 0) break;
      }
      state = 'header';
    }
  }
  if (state !== 'done') throw invalid('it ends before its end blocks (truncated)');
}
