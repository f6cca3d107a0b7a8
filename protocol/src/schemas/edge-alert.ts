/** EdgeAlert (`devices/{id}/alerts`): a transition of a rule evaluated on the device. */
import Type from 'typebox';
import type { Static } from 'typebox';
import { EpochMs, Id, Name, Severity, V1 } from './common.js';

/** The value that made a rule change state; `null` when there is none (an absence rule). */
export const AlertValue = Type.Union([Type.Number(), Type.Null()]);
export type AlertValue = Static<typeof AlertValue>;

export const AlertTransition = Type.Enum(['firing', 'resolved']);
export type AlertTransition = Static<typeof AlertTransition>;

export const EdgeAlert = Type.Object(
  {
    v: V1,
    ruleId: Id,
    state: AlertTransition,
    metric: Name,
    value: AlertValue,
    ts: EpochMs,
    severity: Severity,
    /** True when the transition is sent after the device was offline. */
    late: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EdgeAlert = Static<typeof EdgeAlert>;
