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
  let state: AlertState = firingSince === undefined ? IDLE : { phase: 'firing', pendingSince: firingSince, firedAt: firingSince };
  let newest: number | undefined = firingSince;
  return {
    get state() {
      return state;
    },
    next(ts, value) {
      const operand = toOperand(value, condition.condition);
      if (operand === undefined || (signal.numeric && typeof operand !== 'number')) return undefined;
      if (newest !== undefined && ts <= newest) {
        if (typeof operand === 'number') signal.backfill(ts, operand);
        return undefined;
      }
      newest = ts;
      const measure = signal.next(ts, operand);
      if (measure === undefined) return undefined;
      const step = stepAlert(state, { ts, holds: condition.holds(measure), clears: condition.clears(measure) }, timing);
      state = step.state;
      if (step.transition === undefined) return undefined;
      return { state: step.transition, value: typeof measure === 'number' ? measure : null, ts };
    },
  };
}
