/**
 * The measure a sample-time rule compares: the value itself, a window aggregate, or a rate of
 * change. A signal sees each in-order sample once (`next`); an out-of-order sample is only
 * `backfill`ed into a window where it still counts, and never evaluated on its own.
 */
import type { RuleWindow } from '@outpost/protocol';
import type { Operand } from './condition.js';
import { ratePerSecond } from './rate.js';
import type { TimedNumber } from './window.js';
import { SampleWindow } from './window.js';

export interface Signal {
  /** Accepts numbers only (windows and rates): a string operand is ignored. */
  readonly numeric: boolean;
  /** An in-order point: the measure to compare, or undefined while there is not enough data. */
  next(ts: number, operand: Operand): Operand | undefined;
  /** A point older than the newest already seen. */
  backfill(ts: number, value: number): void;
}

/** The sample's own value. */
export function rawSignal(): Signal {
  return { numeric: false, next: (_ts, operand) => operand, backfill: () => undefined };
}

/** mean/min/max of the values in `(ts − window.ms, ts]`. */
export function windowSignal(window: RuleWindow): Signal {
  const points = new SampleWindow(window.ms, window.fn);
  return {
    numeric: true,
    next(ts, operand) {
      if (typeof operand !== 'number') return undefined;
      points.add(ts, operand);
      return points.aggregate(window.fn);
    },
    backfill: (ts, value) => void points.add(ts, value),
  };
}

/**
 * Change per second: between consecutive samples, or, with a window, between the oldest and
 * the newest sample in `(ts − window.ms, ts]` (the window's `fn` does not apply to rates).
 */
export function rateSignal(window?: RuleWindow): Signal {
  if (window !== undefined) {
    const points = new SampleWindow(window.ms, 'none');
    return {
      numeric: true,
      next(ts, operand) {
        if (typeof operand !== 'number') return undefined;
        points.add(ts, operand);
        const { first, last } = points;
        return first === undefined || last === undefined ? undefined : ratePerSecond(first, last);
      },
      backfill: (ts, value) => void points.add(ts, value),
    };
  }
  let previous: TimedNumber | undefined;
  return {
    numeric: true,
    next(ts, operand) {
      if (typeof operand !== 'number') return undefined;
      const current = { ts, value: operand };
      const rate = previous === undefined ? undefined : ratePerSecond(previous, current);
      previous = current;
      return rate;
    },
    backfill: () => undefined,
  };
}
