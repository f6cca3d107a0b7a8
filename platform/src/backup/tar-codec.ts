/**
 * The ustar subset a backup archive (and the demo's release artifact) needs, streamed: a
 * header per regular file whose size is known before its bytes flow, the bytes, padding to
 * 512, two zero blocks at the end; and a reader of the same that yields headers and data as
 * they arrive, so a multi-gigabyte firmware blob never sits in memory. The agent bundle's
 * writer (edge-agent/bundle) builds whole archives in memory; this one streams. PAX `path`
 * records are read (GNU tar writes them for long names), never written: our names are short.
 */
import { OutpostError } from '@outpost/protocol';

export const TAR_BLOCK = 512;
export const TAR_END: Buffer = Buffer.alloc(2 * TAR_BLOCK);
/** A PAX extended header larger than this is not one of ours. */
const MAX_PAX_BYTES = 64 * 1024;

function invalid(message: string): OutpostError {
  return new OutpostError('BACKUP_ARCHIVE_INVALID', `the archive is not a readable tar: ${message}`);
}

function writeField(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw invalid(`field too long: ${JSON.stringify(value.slice(0, 40))}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = Math.floor(value).toString(8);
  if (value < 0 || digits.length > length - 1) throw invalid(`number out of range: ${value}`);
  writeField(block, offset, length, `${digits.padStart(length - 1, '0')}\0`);
}

/** The ustar header of a regular file (`0`) or directory (`5`) of `size` bytes. */
export function tarHeader(entry: { readonly path: string; readonly size: number; readonly mode?: number; readonly mtimeMs?: number; readonly directory?: boolean }): Buffer {
  const path = entry.directory === true && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  if (path === '' || path.startsWith('/') || path.split('/').includes('..') || path.includes('\0')) throw invalid(`refusing path ${JSON.stringify(path)}`);
  if (Buffer.byteLength(path) > 100) throw invalid(`path longer than 100 bytes: ${JSON.stringify(path)}`);
  const block = Buffer.alloc(TAR_BLOCK);
  writeField(block, 0, 100, path);
  writeOctal(block, 100, 8, entry.mode ?? (entry.directory === true ? 0o755 : 0o644));
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, entry.directory === true ? 0 : entry.size);
  writeOctal(block, 136, 12, Math.floor((entry.mtimeMs ?? 0) / 1000));
  block.fill(0x20, 148, 156);
  writeField(block, 156, 1, entry.directory === true ? '5' : '0');
  writeField(block, 257, 6, 'ustar\0');
  writeField(block, 263, 2, '00');
  let sum = 0;
  for (const byte of block) sum += byte;
  writeField(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Zero bytes that bring `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(TAR_BLOCK - rest);
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
