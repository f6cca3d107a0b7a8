/**
 * The alert state machine of one rule for one series, on sample time:
 *
 *   idle ──condition holds──► pending ──held for forMs──► firing ──clear holds──► idle (resolved)
 *          ◄──condition breaks──┘
 *
 * - `forMs`: pending fires once the condition has held from the first breaching sample to a
 *   sample at least `forMs` later (`forMs: 0` fires on the first breaching sample); a sample on
 *   which the condition does not hold resets the pending period.
 * - `firing` and `resolved` are each emitted once per episode, however long it lasts.
 * - `cooldownMs`: after a resolve, no new firing until `cooldownMs` of sample time has passed
 *   (a breach that outlasts the cooldown then fires on its next sample).
 * - `minStateMs` (flap control): no transition out of `firing` or out of `resolved` younger than
 *   `minStateMs`; the transition happens on the first sample after that on which it still applies.
 */
import type { AlertTransition, Rule } from '@outpost/protocol';

export type AlertPhase = 'idle' | 'pending' | 'firing';

export interface AlertState {
  readonly phase: AlertPhase;
  /** Sample time of the first sample of the current breach (pending or firing). */
  readonly pendingSince?: number;
  readonly firedAt?: number;
  /** Sample time of the last resolve (cooldown and flap control). */
  readonly resolvedAt?: number;
}

export interface AlertTiming {
  readonly forMs: number;
  readonly cooldownMs: number;
  readonly minStateMs: number;
}

export interface AlertInput {
  readonly ts: number;
  /** The fire condition holds on this sample. */
  readonly holds: boolean;
  /** The clear condition (hysteresis) holds on this sample. */
  readonly clears: boolean;
}

export interface AlertStep {
  readonly state: AlertState;
  readonly transition?: AlertTransition;
}

export const IDLE: AlertState = Object.freeze({ phase: 'idle' });

export function alertTiming(rule: Pick<Rule, 'forMs' | 'cooldownMs' | 'minStateMs'>): AlertTiming {
  return { forMs: rule.forMs, cooldownMs: rule.cooldownMs, minStateMs: rule.minStateMs ?? 0 };
}

function mayFire(state: AlertState, ts: number, timing: AlertTiming): boolean {
  if (state.resolvedAt === undefined) return true;
  const sinceResolve = ts - state.resolvedAt;
  return sinceResolve >= timing.cooldownMs && sinceResolve >= timing.minStateMs;
}

export function stepAlert(state: AlertState, input: AlertInput, timing: AlertTiming): AlertStep {
  const { ts } = input;
  if (state.phase === 'firing') {
    const firedAt = state.firedAt ?? ts;
    if (input.clears && ts - firedAt >= timing.minStateMs) {
      return { state: { phase: 'idle', resolvedAt: ts }, transition: 'resolved' };
    }
    return { state };
  }
  if (!input.holds) {
    return { state: state.phase === 'idle' ? state : withResolvedAt({ phase: 'idle' }, state.resolvedAt) };
  }
  const pendingSince = state.phase === 'pending' ? (state.pendingSince ?? ts) : ts;
  if (ts - pendingSince >= timing.forMs && mayFire(state, ts, timing)) {
    return { state: { phase: 'firing', pendingSince, firedAt: ts }, transition: 'firing' };
  }
  return { state: withResolvedAt({ phase: 'pending', pendingSince }, state.resolvedAt) };
}

function withResolvedAt(state: AlertState, resolvedAt: number | undefined): AlertState {
  return resolvedAt === undefined ? state : { ...state, resolvedAt };
}
