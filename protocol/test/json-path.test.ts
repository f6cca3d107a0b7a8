import { describe, expect, it } from 'vitest';
import { formatPath, pointerToPath, quote } from '../src/json-path.js';

describe('formatPath', () => {
  it.each([
    [[], ''],
    [['v'], 'v'],
    [['samples', 3, 'metrics'], 'samples[3].metrics'],
    [['metrics', 'cpu.temp'], 'metrics["cpu.temp"]'],
    [['tags', 'a"b'], 'tags["a\\"b"]'],
    [[0, 'x'], '[0].x'],
    [['m', `a${'b'.repeat(70)}`], `m["a${'b'.repeat(56)}..."]`],
  ] as const)('writes %j as %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('quote', () => {
  it('cuts long strings short', () => {
    expect(quote('x'.repeat(100))).toBe(`"${'x'.repeat(57)}..."`);
    expect(quote('a\u0000')).toBe('"a\\u0000"');
  });
});

describe('pointerToPath', () => {
  it.each([
    ['', []],
    ['/samples/3/metrics', ['samples', 3, 'metrics']],
    ['/a~1b/c~0d/01', ['a/b', 'c~d', '01']],
  ] as const)('reads %j', (pointer, path) => {
    expect(pointerToPath(pointer)).toEqual(path);
  });
});
