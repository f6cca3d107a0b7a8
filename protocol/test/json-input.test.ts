import { describe, expect, it } from 'vitest';
import { parseJson, readText } from '../src/json-input.js';

describe('readText', () => {
  it('reads UTF-8 bytes and strips nothing but a BOM', () => {
    expect(readText(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 10)).toEqual({ ok: true, value: '{}' });
  });

  it('refuses a string longer than the limit without encoding it', () => {
    expect(readText('x'.repeat(11), 10)).toEqual({ ok: false, code: 'PAYLOAD_TOO_LARGE', reason: 'payload of at least 11 bytes, the limit is 10' });
  });

  it('measures a string that may be multi-byte exactly', () => {
    expect(readText('€€€', 9)).toEqual({ ok: true, value: '€€€' });
    expect(readText('€€€€', 11)).toEqual({ ok: false, code: 'PAYLOAD_TOO_LARGE', reason: 'payload of 12 bytes, the limit is 11' });
  });

  it('refuses an overlong UTF-8 encoding and a lone surrogate encoded in UTF-8', () => {
    expect(readText(new Uint8Array([0xc0, 0xaf]), 10).ok).toBe(false);
    expect(readText(new Uint8Array([0xed, 0xa0, 0x80]), 10).ok).toBe(false);
  });
});

describe('parseJson', () => {
  it('parses JSON, however deeply nested, without overflowing the stack', () => {
    expect(parseJson('[[1]]')).toEqual({ ok: true, value: [[1]] });
    expect(parseJson(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`).ok).toBe(true);
  });

  it('cuts a long parser message short', () => {
    const result = parseJson(`"${'x'.repeat(10_000)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeLessThanOrEqual(180);
  });
});
