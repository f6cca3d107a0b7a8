import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../src/domain/hysteresis.js';
import { createSeriesEvaluator } from '../../src/domain/series-evaluator.js';
import { rawSignal, windowSignal } from '../../src/domain/signal.js';
import type { SampleValue } from '../../src/rule-sample.js';

const timing = { forMs: 0, cooldownMs: 0, minStateMs: 0 };

function run(points: readonly [number, SampleValue][], condition = compileCondition({ condition: '>', bound: 30 }), signal = rawSignal()) {
  const series = createSeriesEvaluator(condition, signal, timing);
  return points.flatMap(([ts, value]) => {
    const decision = series.next(ts, value);
    return decision === undefined ? [] : [decision];
  });
}

describe('createSeriesEvaluator', () => {
  it('emits firing and resolved with the deciding value and sample time', () => {
    expect(run([[0, 20], [1, 31], [2, 29]])).toEqual([
      { state: 'firing', value: 31, ts: 1 },
      { state: 'resolved', value: 29, ts: 2 },
    ]);
  });

  it('lets an older sample neither resolve nor re-fire', () => {
    expect(run([[10, 31], [5, 20], [11, 32]])).toEqual([{ state: 'firing', value: 31, ts: 10 }]);
    expect(run([[10, 31], [20, 20], [15, 40], [21, 25]])).toEqual([
      { state: 'firing', value: 31, ts: 10 },
      { state: 'resolved', value: 20, ts: 20 },
    ]);
  });

  it('ignores a replayed sample with the same time', () => {
    expect(run([[10, 31], [10, 10]])).toEqual([{ state: 'firing', value: 31, ts: 10 }]);
  });

  it('ignores values its condition cannot compare, without touching its state', () => {
    expect(run([[0, 'hot'], [1, true], [2, Number.NaN], [3, 31]])).toEqual([{ state: 'firing', value: 31, ts: 3 }]);
  });

  it('reports a string comparison with a null value, a boolean as 1/0', () => {
    expect(run([[0, '1'], [1, 'off']], compileCondition({ condition: '==', bound: 1 }))).toEqual([
      { state: 'firing', value: null, ts: 0 },
      { state: 'resolved', value: null, ts: 1 },
    ]);
    expect(run([[0, true], [1, false]], compileCondition({ condition: '==', bound: 1 }))).toEqual([
      { state: 'firing', value: 1, ts: 0 },
      { state: 'resolved', value: 0, ts: 1 },
    ]);
  });

  it('backfills an out-of-order sample into the window without evaluating it', () => {
    const decisions = run([[0, 20], [10, 20], [5, 100], [11, 20]], compileCondition({ condition: '>', bound: 30 }), windowSignal({ ms: 20, fn: 'mean' }));
    expect(decisions).toEqual([{ state: 'firing', value: 40, ts: 11 }]);
  });
});
