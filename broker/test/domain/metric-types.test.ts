import type { TelemetryBatch } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { MetricTypeBook } from '../../src/domain/metric-types.js';

const batch = (...samples: Record<string, number | boolean | string>[]): TelemetryBatch => ({ v: 1, seq: 1, samples: samples.map((metrics) => ({ ts: 0, metrics })) });

describe('MetricTypeBook', () => {
  it('fixes a metric by its first accepted value; integers and floats are one type', () => {
    const book = new MetricTypeBook();
    expect(book.claim(batch({ t: 1 }))).toEqual({ ok: true, fresh: [['t', 'float']] });
    expect(book.claim(batch({ t: 2.5 }))).toEqual({ ok: true, fresh: [] });
    expect(book.claim(batch({ on: true }, { t: 'x' }))).toMatchObject({ ok: false, code: 'TYPE_CONFLICT', path: 'samples[1].metrics.t' });
    expect(book.typeOf('on')).toBeUndefined();
  });

  it.each([
    ['float', 1, 'yes'],
    ['boolean', true, 0],
    ['string', 'on', false],
  ])('refuses another type for a %s metric', (_type, first, second) => {
    const book = new MetricTypeBook();
    book.claim(batch({ m: first }));
    expect(book.claim(batch({ m: second })).ok).toBe(false);
  });

  it('gives back reservations of a batch that was not accepted', () => {
    const book = new MetricTypeBook([['a', 'string']]);
    const claim = book.claim(batch({ b: 1 }));
    if (!claim.ok) throw new Error('unexpected conflict');
    book.release(claim.fresh);
    expect(book.typeOf('b')).toBeUndefined();
    expect(book.typeOf('a')).toBe('string');
  });
});
