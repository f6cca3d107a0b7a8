import { describe, expect, it } from 'vitest';
import { MultipartReader, multipartBoundary } from '../../src/http/multipart-reader.js';

const BOUNDARY = 'xYz-boundary-123';

function body(parts: { name: string; filename?: string; data: Buffer }[], boundary = BOUNDARY): Buffer {
  const out: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\n\r\n`), p.data, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

async function* chunked(bytes: Buffer, sizes: () => number): AsyncGenerator<Buffer> {
  let offset = 0;
  while (offset < bytes.length) {
    const n = Math.max(1, sizes());
    yield bytes.subarray(offset, offset + n);
    offset += n;
  }
}

async function readAll(reader: MultipartReader): Promise<{ name: string; filename?: string; data: Buffer }[]> {
  const parts: { name: string; filename?: string; data: Buffer }[] = [];
  for (let part = await reader.next(); part !== undefined; part = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const c of reader.body()) chunks.push(c);
    parts.push({ name: part.name, ...(part.filename === undefined ? {} : { filename: part.filename }), data: Buffer.concat(chunks) });
  }
  return parts;
}

describe('MultipartReader', () => {
  // Data that contains look-alikes of the delimiter (CRLF, dashes, a prefix of the boundary).
  const tricky = Buffer.concat([Buffer.from(`\r\n--${BOUNDARY.slice(0, 8)}\r\n--`), Buffer.alloc(5000, 0x2d), Buffer.from(`\r\n-${BOUNDARY}`)]);
  const parts = [
    { name: 'manifest', data: Buffer.from('{"v":1}') },
    { name: 'signature', data: Buffer.from('') },
    { name: 'artifact', filename: 'a.bin', data: tricky },
  ];
  const whole = body(parts);

  it.each([
    ['one chunk', () => whole.length],
    ['one byte at a time', () => 1],
    ['7-byte chunks', () => 7],
    ['chunks the size of the delimiter', () => BOUNDARY.length + 4],
    ['random chunks', () => 1 + Math.floor(Math.random() * 300)],
  ])('reads every part whole from %s', async (_name, sizes) => {
    const read = await readAll(new MultipartReader(chunked(whole, sizes), BOUNDARY));
    expect(read).toEqual(parts);
  });

  it.each([
    ['cut inside a part', whole.subarray(0, whole.length - 40)],
    ['cut inside headers', body(parts).subarray(0, 60)],
    ['without any boundary', Buffer.from('no multipart here')],
  ])('refuses a body %s with OTA_UPLOAD_INVALID', async (_name, bytes) => {
    await expect(readAll(new MultipartReader(chunked(bytes, () => 16), BOUNDARY))).rejects.toMatchObject({ code: 'OTA_UPLOAD_INVALID' });
  });

  it('bounds a text part', async () => {
    const reader = new MultipartReader(chunked(body([{ name: 'manifest', data: Buffer.alloc(2000, 0x61) }]), () => 100), BOUNDARY);
    await reader.next();
    await expect(reader.text(1000, 'manifest')).rejects.toMatchObject({ code: 'OTA_UPLOAD_INVALID' });
  });

  it('reads the boundary of a content type, quoted or not', () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`)).toBe(BOUNDARY);
    expect(multipartBoundary('multipart/form-data; boundary="a b"')).toBe('a b');
    expect(multipartBoundary('application/json')).toBeUndefined();
    expect(multipartBoundary('multipart/form-data')).toBeUndefined();
  });
});
