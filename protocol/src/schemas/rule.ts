/**
 * Rule: an alert rule, evaluated by the broker's alert engine and, when sent in a
 * DesiredConfig or agent.json, by the agent. Cross-field requirements (a threshold for `>`, a
 * range for `outside`, …) are checked by the codec (checks/config-checks.ts).
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { DelayMs, DeviceId, DurationMs, GroupName, Id, Name, printableText, Severity, Title, V1 } from './common.js';

export const RuleKind = Type.Enum(['threshold', 'absence', 'rate']);
export type RuleKind = Static<typeof RuleKind>;

export const RuleCondition = Type.Enum(['>', '>=', '<', '<=', '==', '!=', 'outside', 'inside']);
export type RuleCondition = Static<typeof RuleCondition>;

export const RuleWindowFn = Type.Enum(['mean', 'min', 'max']);
export type RuleWindowFn = Static<typeof RuleWindowFn>;

const TagValue = printableText(1, 128);

/** Which devices a rule applies to; every present criterion must match; empty = all devices. */
export const RuleScope = Type.Object(
  {
    devices: Type.Optional(Type.Array(DeviceId, { maxItems: 1000 })),
    groups: Type.Optional(Type.Array(GroupName, { maxItems: 100 })),
    tags: Type.Optional(Type.Record(Name, TagValue, { additionalProperties: false, maxProperties: 32 })),
  },
  { additionalProperties: false },
);
export type RuleScope = Static<typeof RuleScope>;

export const RuleWindow = Type.Object({ ms: DurationMs, fn: RuleWindowFn }, { additionalProperties: false });
export type RuleWindow = Static<typeof RuleWindow>;

export const Rule = Type.Object(
  {
    v: V1,
    id: Id,
    name: Title,
    kind: RuleKind,
    scope: RuleScope,
    metric: Name,
    condition: RuleCondition,
    /** The bound of a comparison (`>`, `>=`, `<`, `<=`, `==`, `!=`) for `threshold` rules. */
    threshold: Type.Optional(Type.Number()),
    /** `[lo, hi]` for `outside` and `inside`; lo ≤ hi. */
    range: Type.Optional(Type.Tuple([Type.Number(), Type.Number()])),
    /** Hysteresis: the value a firing comparison must cross back over to resolve. */
    clearThreshold: Type.Optional(Type.Number()),
    /** How long the condition must hold before firing. */
    forMs: DelayMs,
    window: Type.Optional(RuleWindow),
    /** `absence` rules: fire when no value came for this long. */
    absenceMs: Type.Optional(DurationMs),
    /** `rate` rules: the bound compared with the metric's change per second. */
    ratePerS: Type.Optional(Type.Number()),
    severity: Severity,
    /** Least time between two firings of the rule for one device. */
    cooldownMs: DelayMs,
    /** Flap control: least time in a state before the next transition; off when absent. */
    minStateMs: Type.Optional(DelayMs),
    labels: Type.Optional(
      Type.Record(Name, printableText(0, 256), {
        additionalProperties: false,
        maxProperties: 32,
      }),
    ),
    channels: Type.Optional(Type.Array(Id, { maxItems: 32 })),
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof Rule>;
