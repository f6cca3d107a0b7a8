/**
 * The one POSIX ustar writer of the project (Node has no tar): 512-byte headers with an octal
 * checksum, file data padded to 512 bytes, two zero blocks at the end. Names that do not fit
 * ustar's 100-byte name + 155-byte prefix get a PAX extended header (`x`), which GNU tar,
 * bsdtar and busybox read. Pure: entries in, buffers out. Whole entries (`tarEntry`) for
 * what sits in memory; a header alone (`tarHeader`, then the bytes, then `tarPadding`) for a
 * stream whose size is known before its bytes flow (backups). Gzip and files:
 * gzip-tar-file.ts.
 */
import { OutpostError } from '@outpost/protocol';

export const BLOCK = 512;

export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly data: Uint8Array; readonly mode?: number; readonly mtime?: number }
  | { readonly type: 'directory'; readonly path: string; readonly mode?: number; readonly mtime?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string; readonly mtime?: number };

/** The end of an archive: two zero blocks. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);

const TYPE_FLAG = { file: '0', directory: '5', symlink: '2', pax: 'x' } as const;

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new OutpostError('BUNDLE_TAR_INVALID', `tar field too long: ${JSON.stringify(value.slice(0, 40))}`);
  bytes.copy(block, offset);
}

/** Octal, zero-padded to `length - 1` digits and NUL-terminated, as ustar numeric fields are. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = Math.floor(value).toString(8);
  if (value < 0 || digits.length > length - 1) throw new OutpostError('BUNDLE_TAR_INVALID', `tar numeric field out of range: ${value}`);
  writeString(block, offset, length, `${digits.padStart(length - 1, '0')}\0`);
}

/** Splits a path into ustar's (prefix, name) at a `/`, or answers undefined when it cannot fit. */
export function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { prefix, name };
  }
  return undefined;
}

interface HeaderFields {
  readonly name: string;
  readonly prefix: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
}

function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid: root, so an install as root owns what it extracts
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  writeString(block, 156, 1, fields.typeflag);
  writeString(block, 157, 100, fields.linkname);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 265, 32, 'root');
  writeString(block, 297, 32, 'root');
  writeString(block, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Zero bytes that bring `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** One PAX record: `"<len> key=value\n"`, where len counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return `${length}${body}`;
}

function checkPath(path: string): void {
  if (path.length === 0 || path.startsWith('/') || path.split('/').includes('..') || path.includes('\0')) {
    throw new OutpostError('BUNDLE_TAR_INVALID', `refusing tar path ${JSON.stringify(path)}: must be relative without ..`);
  }
}

/** An entry without its bytes: a file says how many follow its header. */
export type TarEntryHead =
  | { readonly type: 'file'; readonly path: string; readonly size: number; readonly mode?: number; readonly mtime?: number }
  | { readonly type: 'directory'; readonly path: string; readonly mode?: number; readonly mtime?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string; readonly mtime?: number };

/**
 * The header of one entry (with a PAX header before it when its names do not fit ustar). A
 * file's `size` bytes follow it, then `tarPadding(size)`.
 */
export function tarHeader(entry: TarEntryHead): Buffer {
  checkPath(entry.path);
  const path = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const mtime = Math.floor((entry.mtime ?? 0) / 1000);
  const size = entry.type === 'file' ? entry.size : 0;
  const linkname = entry.type === 'symlink' ? entry.target : '';
  const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'directory' ? 0o755 : 0o644));
  const out: Buffer[] = [];
  const pax: string[] = [];
  let split = splitUstarPath(path);
  if (split === undefined) {
    pax.push(paxRecord('path', path));
    split = { prefix: '', name: path.slice(-100).replace(/^[^/]*\//, '') || 'long-name' };
  }
  const fitsLink = Buffer.byteLength(linkname) <= 100;
  if (!fitsLink) pax.push(paxRecord('linkpath', linkname));
  if (pax.length > 0) {
    const paxData = Buffer.from(pax.join(''), 'utf8');
    out.push(header({ name: 'PaxHeader', prefix: '', mode: 0o644, size: paxData.length, mtime, typeflag: TYPE_FLAG.pax, linkname: '' }), paxData, tarPadding(paxData.length));
  }
  out.push(header({ name: split.name, prefix: split.prefix, mode: mode & 0o7777, size, mtime, typeflag: TYPE_FLAG[entry.type], linkname: fitsLink ? linkname : '' }));
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

/** The header, data and padding of one entry. */
export function tarEntry(entry: TarEntry): Buffer[] {
  if (entry.type !== 'file') return [tarHeader(entry)];
  const { data, ...head } = entry;
  const out = [tarHeader({ ...head, size: data.length })];
  if (data.length > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), tarPadding(data.length));
  return out;
}

/** A whole archive in memory: every entry, then the end blocks. */
export function tarArchive(entries: Iterable<TarEntry>): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) parts.push(...tarEntry(entry));
  parts.push(TAR_END);
  return Buffer.concat(parts);
}
