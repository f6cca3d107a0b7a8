/**
 * One rule over one series (one device's metric) on sample time: normalises each value,
 * keeps sample-time order, feeds the signal, and steps the alert state machine.
 *
 * Order: only a sample newer than every sample already seen for the series is evaluated. An
 * older or equal one (out of order, or a replayed duplicate) can never fire or resolve; it is
 * only backfilled into a window where it still counts for later evaluations.
 */
import type { AlertTransition, AlertValue } from '@outpost/protocol';
import type { SampleValue } from '../rule-sample.js';
import { IDLE, stepAlert } from './alert-state.js';
import type { AlertState, AlertTiming } from './alert-state.js';
import { toOperand } from './condition.js';
import type { CompiledCondition } from './hysteresis.js';
import type { Signal } from './signal.js';

export interface Decision {
  readonly state: AlertTransition;
  readonly value: AlertValue;
  /** Sample time of the deciding sample. */
  readonly ts: number;
}

export interface SeriesEvaluator {
  /** The transition this sample causes, if any. Never throws on odd values: they are ignored. */
  next(ts: number, value: SampleValue): Decision | undefined;
  readonly state: AlertState;
}

/** `firingSince`: the series starts firing at that sample time (an alert already open); older samples only backfill. */
export function createSeriesEvaluator(condition: CompiledCondition, signal: Signal, timing: AlertTiming, firingSince?: number): SeriesEvaluator {
  return new Series(condition, signal, timing, firingSince);
}

/**
 * A class, not a closure: the newest sample time is a number field V8 updates in place, where a
 * closure's variable would box every new time — one survivor per evaluation with a thousand
 * rules (issue 12, alert p99).
 */
class Series implements SeriesEvaluator {
  readonly #condition: CompiledCondition;
  readonly #signal: Signal;
  readonly #timing: AlertTiming;
  #state: AlertState;
  /** The newest sample time evaluated; −∞ before the first. */
  #newest: number;

  constructor(condition: CompiledCondition, signal: Signal, timing: AlertTiming, firingSince: number | undefined) {
    this.#condition = condition;
    this.#signal = signal;
    this.#timing = timing;
    this.#state = firingSince === undefined ? IDLE : { phase: 'firing', pendingSince: firingSince, firedAt: firingSince };
    this.#newest = firingSince ?? Number.NEGATIVE_INFINITY;
  }

  get state(): AlertState {
    return this.#state;
  }

  next(ts: number, value: SampleValue): Decision | undefined {
    const condition = this.#condition;
    const operand = toOperand(value, condition.condition);
    if (operand === undefined || (this.#signal.numeric && typeof operand !== 'number')) return undefined;
    if (ts <= this.#newest) {
      if (typeof operand === 'number') this.#signal.backfill(ts, operand);
      return undefined;
    }
    this.#newest = ts;
    const measure = this.#signal.next(ts, operand);
    if (measure === undefined) return undefined;
    const step = stepAlert(this.#state, { ts, holds: condition.holds(measure), clears: condition.clears(measure) }, this.#timing);
    this.#state = step.state;
    if (step.transition === undefined) return undefined;
    return { state: step.transition, value: typeof measure === 'number' ? measure : null, ts };
  }
}
