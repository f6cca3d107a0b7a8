/**
 * A minimal, strict DER reader: just enough to slice a PKCS#10 request into the exact bytes
 * that were signed and the parts we read. Definite lengths only, minimal length encoding,
 * single-byte tags; any violation throws (callers classify).
 */

export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** The whole element: identifier, length and contents. */
  readonly raw: Buffer;
  /** The contents octets only. */
  readonly content: Buffer;
}

export const DER_TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Reads the element at `offset` of `bytes` and returns it with the offset just after it. */
export function readDer(bytes: Buffer, offset = 0): { node: DerNode; next: number } {
  const tag = bytes[offset];
  if (tag === undefined) throw new Error(`DER: no element at offset ${offset}`);
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not supported');
  const first = bytes[offset + 1];
  if (first === undefined) throw new Error('DER: missing length');
  let length: number;
  let headerLength: number;
  if (first < 0x80) {
    length = first;
    headerLength = 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new Error('DER: indefinite length is not DER');
    if (count > 4) throw new Error('DER: length too large');
    length = 0;
    for (let i = 0; i < count; i += 1) {
      const byte = bytes[offset + 2 + i];
      if (byte === undefined) throw new Error('DER: truncated length');
      if (i === 0 && byte === 0) throw new Error('DER: non-minimal length');
      length = length * 256 + byte;
    }
    if (length < 0x80) throw new Error('DER: non-minimal length');
    headerLength = 2 + count;
  }
  const end = offset + headerLength + length;
  if (end > bytes.length) throw new Error('DER: element runs past the end of the input');
  return {
    node: {
      tag,
      raw: bytes.subarray(offset, end),
      content: bytes.subarray(offset + headerLength, end),
    },
    next: end,
  };
}

/** Reads a whole buffer as exactly one element (no trailing bytes). */
export function readDerExact(bytes: Buffer): DerNode {
  const { node, next } = readDer(bytes, 0);
  if (next !== bytes.length) throw new Error('DER: trailing bytes after the element');
  return node;
}

/** The children of a constructed element. */
export function derChildren(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new Error('DER: expected a constructed element');
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const { node: child, next } = readDer(node.content, offset);
    children.push(child);
    offset = next;
  }
  return children;
}

/** The children of a constructed element, checking the tag first. */
export function derChildrenOf(node: DerNode, tag: number, what: string): DerNode[] {
  if (node.tag !== tag) throw new Error(`DER: ${what} has tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return derChildren(node);
}

/** Decodes an OBJECT IDENTIFIER's contents to dotted form. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new Error('DER: empty OID');
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < content.length; i += 1) {
    const byte = content[i] ?? 0;
    if (value === 0n && byte === 0x80) throw new Error('DER: non-minimal OID arc');
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (i === content.length - 1) {
      throw new Error('DER: truncated OID');
    }
  }
  const [head, ...rest] = arcs;
  if (head === undefined) throw new Error('DER: empty OID');
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [first, head - first * 40n, ...rest].map(String).join('.');
}

/** Decodes the directory string types found in names; other types answer undefined. */
export function decodeDirectoryString(node: DerNode): string | undefined {
  switch (node.tag) {
    case DER_TAG.UTF8_STRING:
    case DER_TAG.PRINTABLE_STRING:
    case DER_TAG.IA5_STRING:
      return node.content.toString('utf8');
    case DER_TAG.T61_STRING:
      return node.content.toString('latin1');
    case DER_TAG.BMP_STRING:
      return Buffer.from(node.content).swap16().toString('utf16le');
    default:
      return undefined;
  }
}
