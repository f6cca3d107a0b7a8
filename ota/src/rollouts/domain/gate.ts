/**
 * A wave's gate (pure; issue 13, item 5): install results of the wave, then post-update health
 * of every updated device compared with the devices not yet updated. The engine calls it on
 * each tick; a breach pauses or aborts the rollout with the reason it gives.
 */
import { FAILED_DEVICE_STATES, FINAL_DEVICE_STATES, type DeviceState, type GateRules, type HealthAction } from './rollout-spec.js';

export type WaveCounts = Readonly<Partial<Record<DeviceState, number>>>;

/** Health figures of one group of devices over the window. */
export interface HealthFigures {
  readonly devices: number;
  readonly silent: number;
  readonly restarting: number;
  readonly alerting: number;
  readonly rolledBack: number;
}

export const BREACH_KINDS = ['failure-ratio', 'success-ratio', 'silent', 'restarts', 'alerts', 'rollbacks'] as const;
export type BreachKind = (typeof BREACH_KINDS)[number];

/** The reason code a breach of each kind leaves on the rollout (spelled out so grep finds them). */
export const BREACH_CODES: Readonly<Record<BreachKind, string>> = {
  'failure-ratio': 'GATE_FAILURE_RATIO',
  'success-ratio': 'GATE_SUCCESS_RATIO',
  silent: 'GATE_SILENT',
  restarts: 'GATE_RESTARTS',
  alerts: 'GATE_ALERTS',
  rollbacks: 'GATE_ROLLBACKS',
};

export type GateStatus =
  | { readonly status: 'waiting'; readonly reason: string }
  | { readonly status: 'soaking'; readonly reason: string; readonly soakSince: number }
  | { readonly status: 'passed'; readonly reason: string }
  | { readonly status: 'breached'; readonly kind: BreachKind; readonly reason: string; readonly action: HealthAction };

export interface GateInput {
  readonly rules: GateRules;
  /** Devices of this wave by state. */
  readonly counts: WaveCounts;
  readonly now: number;
  /** When the wave's counts were first met (the soak started), if they were. */
  readonly soakSince?: number;
  /** Every updated device of the rollout, and the devices not yet updated (the baseline). */
  readonly health?: { readonly updated: HealthFigures; readonly baseline: HealthFigures };
  /** An operator resumed past this wave's count breach: only health is judged. */
  readonly countsOverridden?: boolean;
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

export function waveTotals(counts: WaveCounts): { size: number; finished: number; succeeded: number; failed: number } {
  let size = 0;
  let finished = 0;
  let failed = 0;
  for (const [state, n] of Object.entries(counts) as [DeviceState, number][]) {
    if (state === 'cancelled') continue;
    size += n;
    if (FINAL_DEVICE_STATES.has(state)) finished += n;
    if (FAILED_DEVICE_STATES.has(state)) failed += n;
  }
  return { size, finished, succeeded: counts.succeeded ?? 0, failed };
}

/** The health breach, if the updated devices fare worse than the baseline. */
export function healthBreach(rules: GateRules, health: GateInput['health']): { kind: BreachKind; reason: string } | undefined {
  const h = rules.health;
  if (h === undefined || health === undefined) return undefined;
  const { updated, baseline } = health;
  if (updated.devices === 0) return undefined;
  const rate = (n: number, of: number): number => (of === 0 ? 0 : n / of);
  if (h.maxRollbacks !== undefined && updated.rolledBack > h.maxRollbacks) {
    return { kind: 'rollbacks', reason: `${updated.rolledBack} device(s) rolled back within the health window (at most ${h.maxRollbacks} allowed)` };
  }
  if (updated.silent > 0 && rate(updated.silent, updated.devices) > rate(baseline.silent, baseline.devices)) {
    return {
      kind: 'silent',
      reason: `${updated.silent} of ${updated.devices} updated device(s) went silent (nothing for ${h.silenceAfterMs / 1000}s), against ${baseline.silent} of ${baseline.devices} not yet updated`,
    };
  }
  if (updated.alerting > 0 && rate(updated.alerting, updated.devices) > rate(baseline.alerting, baseline.devices)) {
    return {
      kind: 'alerts',
      reason: `${updated.alerting} of ${updated.devices} updated device(s) fire ${h.alertSeverities.join('/')} alerts, against ${baseline.alerting} of ${baseline.devices} not yet updated`,
    };
  }
  const expected = rate(baseline.restarting, baseline.devices) * updated.devices;
  if (updated.restarting > h.maxRestarts && updated.restarting > expected) {
    return {
      kind: 'restarts',
      reason: `${updated.restarting} of ${updated.devices} updated device(s) restarted within the health window, against ${baseline.restarting} of ${baseline.devices} not yet updated`,
    };
  }
  return undefined;
}

export function evaluateGate(input: GateInput): GateStatus {
  const { rules, now } = input;
  const { size, finished, succeeded, failed } = waveTotals(input.counts);
  const health = healthBreach(rules, input.health);
  if (health !== undefined) return { status: 'breached', kind: health.kind, reason: health.reason, action: rules.health?.action ?? 'pause' };
  if (size === 0) return { status: 'passed', reason: 'the wave has no devices' };
  if (input.countsOverridden !== true) {
    if (failed / size > rules.maxFailureRatio) {
      return { status: 'breached', kind: 'failure-ratio', reason: `${failed} of ${size} device(s) of the wave failed (${pct(failed / size)} > ${pct(rules.maxFailureRatio)} allowed)`, action: rules.action };
    }
  }
  const needed = Math.ceil(rules.minFinished * size - 1e-9);
  if (finished < needed) return { status: 'waiting', reason: `${finished} of ${size} device(s) finished, ${needed} needed` };
  if (input.countsOverridden !== true && finished > 0 && succeeded / finished < rules.successRatio) {
    return {
      status: 'breached',
      kind: 'success-ratio',
      reason: `${succeeded} of ${finished} finished device(s) succeeded (${pct(succeeded / finished)} < ${pct(rules.successRatio)} required)`,
      action: rules.action,
    };
  }
  const since = input.soakSince ?? now;
  const left = since + rules.soakMs - now;
  if (left > 0) return { status: 'soaking', reason: `soaking: ${Math.ceil(left / 1000)}s left`, soakSince: since };
  return { status: 'passed', reason: `${succeeded} of ${size} succeeded, healthy through the soak` };
}
