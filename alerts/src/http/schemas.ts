/** Route schemas of the alerts module (requests and answers), in the platform's style. */
import { AlertAck, AlertEvent, OutpostError, Rule } from '@outpost/protocol';
import { Type } from 'typebox';
import { EpochMs, PageQuery } from '@outpost/kernel';

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const Severity = Type.Enum(['info', 'warning', 'critical']);

/** A stored rule: the protocol Rule plus version and times (range as a plain pair, for the serializer). */
export const RuleView = Type.Object({
  ...Rule.properties,
  range: Type.Optional(Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[lo, hi] for inside/outside' })),
  version: Type.Integer({ minimum: 1, description: 'bumped by every change' }),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

export const RuleBody = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'a Rule (SPEC): `id` is optional on POST (generated), `v`, `scope` ({} = all devices), `forMs`, `cooldownMs` (0) and `enabled` (true) may be left out, ' +
      'and `condition` for absence rules. A `version` field (PUT) must be the current one. Every problem is listed in `details`.',
  },
);

export const TimeValue = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 64 })], { description: 'epoch milliseconds or RFC 3339' });

export const TestBody = Type.Object({ from: TimeValue, to: TimeValue }, { additionalProperties: false });
export const TestUnsavedBody = Type.Object({ rule: Type.Object({}, { additionalProperties: true }), from: TimeValue, to: TimeValue }, { additionalProperties: false });

export const TestResult = Type.Object({
  ruleId: Type.String(),
  from: EpochMs,
  to: EpochMs,
  samples: Type.Integer({ description: 'stored samples replayed' }),
  devices: Type.Integer({ description: 'devices in scope with data' }),
  counts: Type.Object({ firing: Type.Integer(), resolved: Type.Integer() }),
  transitions: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      state: Type.Enum(['firing', 'resolved']),
      value: Type.Union([Type.Number(), Type.Null()]),
      ts: EpochMs,
      severity: Severity,
      late: Type.Boolean(),
    }),
  ),
});

export const AlertView = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  deviceId: Type.String(),
  severity: Severity,
  state: Type.Enum(['firing', 'acknowledged', 'resolved']),
  value: Type.Union([Type.Number(), Type.Null()]),
  firedAt: EpochMs,
  resolvedAt: Type.Optional(EpochMs),
  ack: Type.Optional(AlertAck),
  maintenance: Type.Boolean(),
  late: Type.Boolean(),
  source: Type.Enum(['platform', 'edge'], { description: "'edge': the transition came from a rule on the device (EdgeAlert)" }),
});

export const AlertWithEvents = Type.Object({ ...AlertView.properties, events: Type.Array(AlertEvent) });

export const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum(['firing', 'acknowledged', 'resolved'])),
    device: Type.Optional(Type.String({ maxLength: 64 })),
    severity: Type.Optional(Severity),
    rule: Type.Optional(Type.String({ maxLength: 128 })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const AckBody = Type.Object({ comment: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false });

export const ChannelBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$', maxLength: 128 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    type: Type.Enum(['webhook', 'mqtt']),
    url: Type.Optional(Type.String({ maxLength: 2048, description: 'webhook: where AlertEvents are POSTed' })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512, description: 'webhook: HMAC-SHA256 key of X-Outpost-Signature; write-only (PUT without it keeps the current one)' })),
    minSeverity: Type.Optional(Severity),
  },
  { additionalProperties: false },
);

export const ChannelView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.Enum(['webhook', 'mqtt']),
  url: Type.Optional(Type.String()),
  minSeverity: Type.Optional(Severity),
  hasSecret: Type.Boolean({ description: 'a webhook secret is set (it is never shown)' }),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

export const DeliveryView = Type.Object({
  id: Type.Integer(),
  eventId: Type.String(),
  state: Type.Enum(['pending', 'delivered', 'failed']),
  attempts: Type.Integer(),
  statusCode: Type.Optional(Type.Integer({ description: 'HTTP status of the last attempt (webhooks)' })),
  error: Type.Optional(Type.String({ description: 'why the last attempt failed' })),
  latencyMs: Type.Optional(Type.Number()),
  nextRetryAt: Type.Optional(EpochMs),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

/** Epoch ms or RFC 3339 → epoch ms; anything else is a 400 naming the field. */
export function parseTime(name: string, value: number | string): number {
  if (typeof value === 'number') return value;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new OutpostError('RULE_TEST_INVALID', `${name} must be epoch milliseconds or RFC 3339 (e.g. 2026-01-31T12:00:00Z), got "${value.slice(0, 64)}"`);
}
