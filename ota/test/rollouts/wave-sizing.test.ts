import { describe, expect, it } from 'vitest';
import { waveSizes } from '../../src/rollouts/domain/wave-sizing.js';
import type { WavePlan } from '../../src/rollouts/domain/rollout-spec.js';

const steps = (...s: ({ percent: number } | { count: number })[]): WavePlan => ({ kind: 'steps', steps: s });

describe('wave sizing', () => {
  it.each([
    ['10%, 50%, 100% of 20', 20, steps({ percent: 10 }, { percent: 50 }, { percent: 100 }), [2, 8, 10]],
    ['rounds up: 10%, 50%, 100% of 7', 7, steps({ percent: 10 }, { percent: 50 }, { percent: 100 }), [1, 3, 3]],
    ['at least one device a wave: 1%, 2%, 100% of 5', 5, steps({ percent: 1 }, { percent: 2 }, { percent: 100 }), [1, 1, 3]],
    ['drops waves without devices: 3 waves for 2 devices', 2, steps({ percent: 10 }, { percent: 50 }, { percent: 100 }), [1, 1]],
    ['counts are cumulative', 20, steps({ count: 1 }, { count: 5 }, { percent: 100 }), [1, 4, 15]],
    ['the last wave takes every device left', 10, steps({ percent: 10 }, { percent: 50 }), [1, 9]],
    ['a count above the fleet is capped', 3, steps({ count: 10 }), [3]],
    ['exponential 1 × 2', 20, { kind: 'exponential', initial: 1, factor: 2 } as WavePlan, [1, 2, 4, 8, 5]],
    ['exponential with a fractional factor rounds up', 10, { kind: 'exponential', initial: 2, factor: 1.5 } as WavePlan, [2, 3, 5]],
    ['no devices, no waves', 0, steps({ percent: 100 }), []],
  ])('%s', (_name, total, plan, expected) => {
    const sizes = waveSizes(total, plan);
    expect(sizes).toEqual(expected);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
    expect(sizes.every((s) => s >= 1)).toBe(true);
  });
});
