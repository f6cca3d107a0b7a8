import { describe, expect, it } from 'vitest';
import { alertTiming, IDLE, stepAlert } from '../../src/domain/alert-state.js';
import type { AlertState, AlertTiming } from '../../src/domain/alert-state.js';

type Input = [ts: number, holds: boolean, clears?: boolean];

/** Runs inputs (clears defaults to !holds) and lists the transitions as `state@ts`. */
function run(timing: Partial<AlertTiming>, inputs: readonly Input[]): string[] {
  const full: AlertTiming = { forMs: 0, cooldownMs: 0, minStateMs: 0, ...timing };
  let state: AlertState = IDLE;
  const out: string[] = [];
  for (const [ts, holds, clears = !holds] of inputs) {
    const step = stepAlert(state, { ts, holds, clears }, full);
    state = step.state;
    if (step.transition !== undefined) out.push(`${step.transition}@${ts}`);
  }
  return out;
}

describe('stepAlert', () => {
  it.each<[string, Partial<AlertTiming>, Input[], string[]]>([
    ['fires at once with forMs 0', {}, [[0, true]], ['firing@0']],
    ['waits forMs of sample time', { forMs: 10 }, [[0, true], [5, true], [9, true], [10, true]], ['firing@10']],
    ['resets the pending period when the condition breaks', { forMs: 10 }, [[0, true], [8, false], [9, true], [15, true], [19, true]], ['firing@19']],
    ['fires once however long the breach lasts', {}, [[0, true], [1, true], [2, true], [3, true]], ['firing@0']],
    ['resolves once', {}, [[0, true], [1, false], [2, false]], ['firing@0', 'resolved@1']],
    ['holds firing while the clear condition does not hold', {}, [[0, true], [1, false, false], [2, false, false], [3, false, true]], ['firing@0', 'resolved@3']],
    ['suppresses a firing within cooldown after a resolve', { cooldownMs: 10 }, [[0, true], [1, false], [5, true], [10, true], [11, true]], ['firing@0', 'resolved@1', 'firing@11']],
    ['fires again after the cooldown', { cooldownMs: 10 }, [[0, true], [1, false], [20, true]], ['firing@0', 'resolved@1', 'firing@20']],
    ['keeps a young firing state (minStateMs)', { minStateMs: 10 }, [[0, true], [5, false], [9, false], [10, false]], ['firing@0', 'resolved@10']],
    ['does not resolve when the dip ends before minStateMs', { minStateMs: 10 }, [[0, true], [5, false], [10, true], [11, true]], ['firing@0']],
    ['keeps a young resolved state (minStateMs)', { minStateMs: 10 }, [[0, true], [10, false], [12, true], [19, true], [20, true]], ['firing@0', 'resolved@10', 'firing@20']],
  ])('%s', (_name, timing, inputs, expected) => {
    expect(run(timing, inputs)).toEqual(expected);
  });

  it('reads the timing from a rule, flap control off when absent', () => {
    expect(alertTiming({ forMs: 5, cooldownMs: 6 })).toEqual({ forMs: 5, cooldownMs: 6, minStateMs: 0 });
    expect(alertTiming({ forMs: 5, cooldownMs: 6, minStateMs: 7 })).toEqual({ forMs: 5, cooldownMs: 6, minStateMs: 7 });
  });
});
