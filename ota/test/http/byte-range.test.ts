import { describe, expect, it } from 'vitest';
import { decideRange } from '../../src/http/byte-range.js';

const ETAG = '"abc"';

describe('decideRange', () => {
  it.each([
    [undefined, undefined, { kind: 'whole' }],
    ['bytes=0-9', undefined, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-', undefined, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-5', undefined, { kind: 'partial', start: 95, end: 99 }],
    ['bytes=-500', undefined, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=50-5000', undefined, { kind: 'partial', start: 50, end: 99 }],
    ['bytes=100-', undefined, { kind: 'unsatisfiable' }],
    ['bytes=-0', undefined, { kind: 'unsatisfiable' }],
    ['bytes=9-3', undefined, { kind: 'whole' }],
    ['bytes=0-1,5-6', undefined, { kind: 'whole' }],
    ['items=0-1', undefined, { kind: 'whole' }],
    ['bytes=0-9', ETAG, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=0-9', '"other"', { kind: 'whole' }],
  ])('Range %s with If-Range %s on 100 bytes → %o', (range, ifRange, expected) => {
    expect(decideRange(range, 100, ifRange, ETAG)).toEqual(expected);
  });
});
