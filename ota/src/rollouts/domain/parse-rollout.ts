/**
 * From a validated `POST /rollouts` body to a RolloutSpec (pure): durations parsed, defaults
 * filled in, rules that a schema cannot say checked, each refusal coded and explained.
 */
import { OutpostError, parseDuration } from '@outpost/protocol';
import type { CreateRolloutBody } from '../http/rollout-schemas.js';
import type { GateRules, HealthRules, RolloutSpec, WavePlan } from './rollout-spec.js';

/** Defaults a gate gets for what the body leaves out (documented in the README). */
export const GATE_DEFAULTS = { minFinished: 1, successRatio: 0.8, maxFailureRatio: 0.2, soak: '5m', deviceTimeout: '30m', confirmDeadline: '10m' } as const;
const MAX_DURATION_MS = 366 * 86_400_000;

function duration(field: string, text: string, minMs: number): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new OutpostError('ROLLOUT_INVALID', `${field}: ${parsed.reason}`, { details: { field } });
  if (parsed.value < minMs || parsed.value > MAX_DURATION_MS) {
    throw new OutpostError('ROLLOUT_INVALID', `${field}: ${text} is out of range (${minMs / 1000}s to 366d)`, { details: { field } });
  }
  return parsed.value;
}

export function parseWaves(waves: CreateRolloutBody['waves']): WavePlan {
  if (!Array.isArray(waves)) return { kind: 'exponential', initial: waves.exponential.initial, factor: waves.exponential.factor };
  let percent = 0;
  let count = 0;
  for (const [i, step] of waves.entries()) {
    if ('percent' in step) {
      if (step.percent <= percent) throw new OutpostError('ROLLOUT_WAVES_INVALID', `waves[${i}]: ${step.percent}% must be above the previous wave's ${percent}% (percentages are cumulative)`);
      percent = step.percent;
    } else {
      if (step.count <= count) throw new OutpostError('ROLLOUT_WAVES_INVALID', `waves[${i}]: ${step.count} devices must be above the previous wave's ${count} (counts are cumulative)`);
      count = step.count;
    }
  }
  return { kind: 'steps', steps: waves.map((step) => ('percent' in step ? { percent: step.percent } : { count: step.count })) };
}

export function parseRolloutBody(body: CreateRolloutBody): RolloutSpec & { readonly startAt?: number; readonly startNow: boolean } {
  const { target } = body;
  if (target.group === undefined && target.tags === undefined && target.devices === undefined) {
    throw new OutpostError('ROLLOUT_TARGET_EMPTY', 'target: name a group, tags or devices (an empty target would update every device)');
  }
  if (target.tags !== undefined && Object.keys(target.tags).length === 0 && target.group === undefined && target.devices === undefined) {
    throw new OutpostError('ROLLOUT_TARGET_EMPTY', 'target: tags is empty; name a group, tags or devices');
  }
  const g = body.gate ?? {};
  const h = g.health;
  const health: HealthRules | undefined =
    h === undefined
      ? undefined
      : {
          windowMs: duration('gate.health.window', h.window, 1_000),
          silenceAfterMs: duration('gate.health.silenceAfter', h.silenceAfter, 1_000),
          ...(h.maxRollbacks === undefined ? {} : { maxRollbacks: h.maxRollbacks }),
          maxRestarts: h.maxRestarts ?? 0,
          alertSeverities: h.alertSeverities ?? ['critical'],
          action: h.action,
        };
  const gate: GateRules = {
    minFinished: g.minFinished ?? GATE_DEFAULTS.minFinished,
    successRatio: g.successRatio ?? GATE_DEFAULTS.successRatio,
    maxFailureRatio: g.maxFailureRatio ?? GATE_DEFAULTS.maxFailureRatio,
    soakMs: duration('gate.soak', g.soak ?? GATE_DEFAULTS.soak, 0),
    deviceTimeoutMs: duration('gate.deviceTimeout', g.deviceTimeout ?? GATE_DEFAULTS.deviceTimeout, 1_000),
    action: g.action ?? 'pause',
    ...(health === undefined ? {} : { health }),
  };
  if (gate.minFinished === 0) throw new OutpostError('ROLLOUT_INVALID', 'gate.minFinished: must be above 0 (the share of a wave that must finish)');
  const confirmMs = duration('confirmDeadline', body.confirmDeadline ?? GATE_DEFAULTS.confirmDeadline, 1_000);
  if (body.startAt !== undefined && body.startNow === true) throw new OutpostError('ROLLOUT_INVALID', 'startAt and startNow: give one of them');
  return {
    name: body.name ?? body.artifactId,
    artifactId: body.artifactId,
    target: {
      ...(target.group === undefined ? {} : { group: target.group }),
      ...(target.tags === undefined || Object.keys(target.tags).length === 0 ? {} : { tags: { ...target.tags } }),
      ...(target.devices === undefined ? {} : { devices: [...new Set(target.devices)].sort() }),
    },
    waves: parseWaves(body.waves),
    gate,
    allowDowngrade: body.allowDowngrade ?? false,
    confirmDeadlineS: Math.max(1, Math.ceil(confirmMs / 1000)),
    ...(body.startAt === undefined ? {} : { startAt: body.startAt }),
    startNow: body.startNow ?? body.startAt === undefined,
  };
}
