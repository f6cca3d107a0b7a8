/**
 * The measure a sample-time rule compares: the value itself, a window aggregate, or a rate of
 * change. A signal sees each in-order sample once (`next`); an out-of-order sample is only
 * `backfill`ed into a window where it still counts, and never evaluated on its own.
 */
import type { RuleWindow } from '@outpost/protocol';
import type { Operand } from './condition.js';
import { ratePerSecondOf } from './rate.js';
import { SampleWindow } from './window.js';

export interface Signal {
  /** Accepts numbers only (windows and rates): a string operand is ignored. */
  readonly numeric: boolean;
  /** An in-order point: the measure to compare, or undefined while there is not enough data. */
  next(ts: number, operand: Operand): Operand | undefined;
  /** A point older than the newest already seen. */
  backfill(ts: number, value: number): void;
}

/** The sample's own value: it keeps no state, so every series shares one. */
const RAW: Signal = Object.freeze({ numeric: false, next: (_ts: number, operand: Operand) => operand, backfill: () => undefined });

export function rawSignal(): Signal {
  return RAW;
}

/** mean/min/max of the values in `(ts − window.ms, ts]`. */
export function windowSignal(window: RuleWindow): Signal {
  const points = new SampleWindow(window.ms, window.fn);
  const { fn } = window;
  return {
    numeric: true,
    next(ts, operand) {
      if (typeof operand !== 'number') return undefined;
      points.add(ts, operand);
      return points.aggregate(fn);
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
        return points.rate();
      },
      backfill: (ts, value) => void points.add(ts, value),
    };
  }
  return new ConsecutiveRate();
}

/** The rate between consecutive samples; the previous one is kept as two numbers, not an object per sample. */
class ConsecutiveRate implements Signal {
  readonly numeric = true;
  #hasPrevious = false;
  #previousTs = 0;
  #previousValue = 0;

  next(ts: number, operand: Operand): Operand | undefined {
    if (typeof operand !== 'number') return undefined;
    const rate = this.#hasPrevious ? ratePerSecondOf(this.#previousTs, this.#previousValue, ts, operand) : undefined;
    this.#hasPrevious = true;
    this.#previousTs = ts;
    this.#previousValue = operand;
    return rate;
  }

  backfill(): void {
    // Only consecutive in-order samples count: an older one changes nothing.
  }
}
