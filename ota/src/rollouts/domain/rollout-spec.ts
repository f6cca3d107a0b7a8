/**
 * What a rollout is, after validation (issue 13, item 5): the target, the waves, the gate of
 * each wave with its health rules, and the job options. Durations are milliseconds here; the
 * API takes duration strings. Pure types and constants.
 */
import type { Severity } from '@outpost/protocol';

/** Which devices the rollout updates: every filter narrows; `devices` alone names them. */
export interface RolloutTarget {
  readonly group?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly devices?: readonly string[];
}

/**
 * Waves as cumulative targets (`10%`, `50%`, `100%`: the share of the fleet updated when the
 * wave is done; or counts of devices), or an exponential rate (each wave `factor` times the
 * previous one, the first `initial` devices). The last wave always takes every device left.
 */
export type WavePlan =
  | { readonly kind: 'steps'; readonly steps: readonly ({ readonly percent: number } | { readonly count: number })[] }
  | { readonly kind: 'exponential'; readonly initial: number; readonly factor: number };

export const HEALTH_ACTIONS = ['pause', 'abort'] as const;
export type HealthAction = (typeof HEALTH_ACTIONS)[number];

/** Post-update health: the updated devices must be no worse than those not yet updated. */
export interface HealthRules {
  /** Restarts, rollbacks and alerts count when they happened within this window (ms). */
  readonly windowMs: number;
  /** A device with no telemetry or status for this long (ms) is silent. */
  readonly silenceAfterMs: number;
  /** Rollbacks (in the window) tolerated before the gate breaches; absent = counted as failures only. */
  readonly maxRollbacks?: number;
  /** Restarts of updated devices (in the window) tolerated above the not-yet-updated ones' rate. */
  readonly maxRestarts: number;
  /** Alerts of these severities count against a device (default critical). */
  readonly alertSeverities: readonly Severity[];
  /** What a breach does to the rollout. */
  readonly action: HealthAction;
}

export interface GateRules {
  /** Share of the wave's devices (0..1) that must have finished (succeeded, failed, timed out…). */
  readonly minFinished: number;
  /** Succeeded / finished must stay at or above this (0..1). */
  readonly successRatio: number;
  /** Failed (incl. rolled back and timed out) / wave size must stay at or below this (0..1). */
  readonly maxFailureRatio: number;
  /** How long the wave must run healthy once its counts are met (ms). */
  readonly soakMs: number;
  /** A device without a final state this long after its job was published has timed out: a failure (ms). */
  readonly deviceTimeoutMs: number;
  /** What a count breach (failure or success ratio) does to the rollout. */
  readonly action: HealthAction;
  readonly health?: HealthRules;
}

export interface RolloutSpec {
  readonly name: string;
  readonly artifactId: string;
  readonly target: RolloutTarget;
  readonly waves: WavePlan;
  readonly gate: GateRules;
  readonly allowDowngrade: boolean;
  readonly confirmDeadlineS: number;
}

/**
 * Rollout states: `draft` (created with startNow false, waits for resume), `scheduled` (waits
 * for startAt), `running`, `paused` (by an operator or a gate breach; resume continues),
 * `aborted` (final; devices not started get a cancel job), `succeeded` (final: every wave
 * passed its gate), `failed` (final: the rollout cannot go on, e.g. its artifact is gone).
 */
export const ROLLOUT_STATES = ['draft', 'scheduled', 'running', 'paused', 'aborted', 'succeeded', 'failed'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
export const FINAL_ROLLOUT_STATES: ReadonlySet<RolloutState> = new Set(['aborted', 'succeeded', 'failed']);

/**
 * A device in a rollout: `pending` (no job yet), `queued` (job published), then the OtaProgress
 * states the device reports, and a final state: `succeeded` (only once the device confirmed the
 * new version), `failed`, `rolled-back`, `timed-out` (no final report within the device
 * timeout: a failure), `cancelled` (the rollout was aborted before the device started).
 */
export const DEVICE_STATES = [
  'pending',
  'queued',
  'downloading',
  'verifying',
  'installing',
  'activating',
  'health-checking',
  'succeeded',
  'failed',
  'rolled-back',
  'timed-out',
  'cancelled',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export const ACTIVE_DEVICE_STATES: ReadonlySet<DeviceState> = new Set(['queued', 'downloading', 'verifying', 'installing', 'activating', 'health-checking']);
export const FINAL_DEVICE_STATES: ReadonlySet<DeviceState> = new Set(['succeeded', 'failed', 'rolled-back', 'timed-out', 'cancelled']);
/** Final states that count as a failure in a gate. */
export const FAILED_DEVICE_STATES: ReadonlySet<DeviceState> = new Set(['failed', 'rolled-back', 'timed-out']);

export function isDeviceState(value: string): value is DeviceState {
  return (DEVICE_STATES as readonly string[]).includes(value);
}

export function isRolloutState(value: string): value is RolloutState {
  return (ROLLOUT_STATES as readonly string[]).includes(value);
}
