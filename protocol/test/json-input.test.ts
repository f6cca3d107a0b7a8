import { describe, expect, it } from 'vitest';
import { jsonDepth, parseJson, readText } from '../src/json-input.js';

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

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['[]', 1],
    ['{"a":[{"b":[]}]}', 4],
    ['"[[[["', 0],
    ['["\\"[[["]', 1],
    ['["\\\\", [[]]]', 3],
  ])('measures %s as %d deep', (text, depth) => {
    expect(jsonDepth(text, 64)).toBe(depth);
  });

  it('stops counting past the limit', () => {
    expect(jsonDepth('['.repeat(1_000_000), 10)).toBe(11);
  });
});

describe('parseJson', () => {
  it('parses within the depth limit', () => {
    expect(parseJson('[[1]]', 2)).toEqual({ ok: true, value: [[1]] });
    expect(parseJson('[[[1]]]', 2)).toEqual({ ok: false, code: 'PAYLOAD_INVALID', reason: 'not valid JSON: nested deeper than 2 levels' });
  });

  it('cuts a long parser message short', () => {
    const result = parseJson(`"${'x'.repeat(10_000)}`, 4);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeLessThanOrEqual(180);
  });
});
