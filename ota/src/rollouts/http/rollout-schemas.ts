/** Route schemas of `/api/v1/rollouts` (bodies, params, queries, answers). */
import { DeviceId, GroupName, Id, Severity } from '@outpost/protocol';
import { EpochMs, PageQuery, nullable } from '@outpost/kernel';
import { Type, type Static } from 'typebox';
import { DEVICE_STATES, ROLLOUT_STATES } from '../domain/rollout-spec.js';

const Duration = Type.String({ minLength: 1, maxLength: 32, description: 'a duration such as 30s, 5m, 1h' });
const Ratio = Type.Number({ minimum: 0, maximum: 1 });
const Action = Type.Enum(['pause', 'abort']);
const TagMap = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 128 }), { maxProperties: 32 });

export const RolloutTargetBody = Type.Object(
  {
    group: Type.Optional(GroupName),
    tags: Type.Optional(TagMap),
    devices: Type.Optional(Type.Array(DeviceId, { minItems: 1, maxItems: 10_000 })),
  },
  { additionalProperties: false, description: 'every filter narrows; at least one is required' },
);

const WaveStep = Type.Union([
  Type.Object({ percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }) }, { additionalProperties: false }),
  Type.Object({ count: Type.Integer({ minimum: 1, maximum: 10_000_000 }) }, { additionalProperties: false }),
]);

export const WavesBody = Type.Union(
  [
    Type.Array(WaveStep, { minItems: 1, maxItems: 100, description: 'cumulative targets: percent of the target, or a count of devices' }),
    Type.Object(
      { exponential: Type.Object({ initial: Type.Integer({ minimum: 1, maximum: 1_000_000 }), factor: Type.Number({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'waves as cumulative percentages or counts (rounded up, at least 1 device each), or an exponential rate' },
);

export const HealthBody = Type.Object(
  {
    window: Duration,
    silenceAfter: Duration,
    maxRollbacks: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    maxRestarts: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    alertSeverities: Type.Optional(Type.Array(Severity, { minItems: 1, maxItems: 3 })),
    action: Action,
  },
  { additionalProperties: false },
);

export const GateBody = Type.Object(
  {
    minFinished: Type.Optional(Ratio),
    successRatio: Type.Optional(Ratio),
    maxFailureRatio: Type.Optional(Ratio),
    soak: Type.Optional(Duration),
    deviceTimeout: Type.Optional(Duration),
    action: Type.Optional(Action),
    health: Type.Optional(HealthBody),
  },
  { additionalProperties: false },
);

export const CreateRolloutBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })),
    artifactId: Id,
    target: RolloutTargetBody,
    waves: WavesBody,
    gate: Type.Optional(GateBody),
    allowDowngrade: Type.Optional(Type.Boolean()),
    confirmDeadline: Type.Optional(Duration),
    startAt: Type.Optional(EpochMs),
    startNow: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateRolloutBody = Static<typeof CreateRolloutBody>;

export const ResumeQuery = Type.Object(
  { skipGate: Type.Optional(Type.Boolean({ description: "pass the current wave's count gate (failure and success ratios) as it stands; health is still judged" })) },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const RolloutsQuery = Type.Object({ ...PageQuery, state: Type.Optional(Type.Enum([...ROLLOUT_STATES])) }, { additionalProperties: false });
export const RolloutDevicesQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(Type.Enum([...DEVICE_STATES])), wave: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) },
  { additionalProperties: false },
);

const Counts = Type.Record(Type.String(), Type.Integer({ minimum: 0 }));
const Reason = Type.Object({ code: Type.String(), message: Type.String(), at: EpochMs });

export const GateView = Type.Object({
  status: Type.Enum(['pending', 'waiting', 'soaking', 'passed', 'breached', 'skipped']),
  reason: Type.String(),
});

export const WaveView = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  size: Type.Integer({ minimum: 0 }),
  counts: Counts,
  startedAt: nullable(EpochMs),
  gate: GateView,
});

export const RolloutView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  artifactId: Type.String(),
  state: Type.Enum([...ROLLOUT_STATES]),
  target: Type.Unknown(),
  waves: Type.Unknown(),
  gate: Type.Unknown(),
  allowDowngrade: Type.Boolean(),
  confirmDeadlineS: Type.Integer(),
  startAt: nullable(EpochMs),
  currentWave: Type.Integer({ minimum: -1, description: '-1 before the first wave starts' }),
  waveCount: Type.Integer({ minimum: 0 }),
  devices: Type.Integer({ minimum: 0 }),
  counts: Counts,
  reason: nullable(Reason),
  createdBy: Type.String(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});
export type RolloutView = Static<typeof RolloutView>;

export const RolloutDetail = Type.Intersect([RolloutView, Type.Object({ wavesProgress: Type.Array(WaveView) })]);

export const RolloutDeviceView = Type.Object({
  deviceId: Type.String(),
  wave: Type.Integer({ minimum: 0 }),
  state: Type.Enum([...DEVICE_STATES]),
  jobId: nullable(Type.String()),
  percent: nullable(Type.Number()),
  bytes: nullable(Type.Integer()),
  error: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  attempts: Type.Integer({ minimum: 0 }),
  queuedAt: nullable(EpochMs),
  finishedAt: nullable(EpochMs),
  updatedAt: EpochMs,
});
export type RolloutDeviceView = Static<typeof RolloutDeviceView>;

/** `GET /devices/{id}/ota`: one device's OTA history, newest rollout first. */
export const DeviceOtaQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export const DeviceOtaParams = Type.Object({ id: DeviceId }, { additionalProperties: false });
const ArtifactRef = Type.Object({ id: Type.String(), name: Type.String(), version: Type.String() });
export const DeviceOtaEntry = Type.Object({
  rolloutId: Type.String(),
  rolloutName: Type.String(),
  rolloutState: Type.Enum([...ROLLOUT_STATES]),
  /** null when the artifact was deleted since. */
  artifact: nullable(ArtifactRef),
  /** The artifact of the newest earlier rollout in which the device succeeded (null: none recorded). */
  from: nullable(ArtifactRef),
  wave: Type.Integer({ minimum: 0 }),
  state: Type.Enum([...DEVICE_STATES]),
  percent: nullable(Type.Number()),
  error: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  attempts: Type.Integer({ minimum: 0 }),
  rolloutCreatedAt: EpochMs,
  queuedAt: nullable(EpochMs),
  finishedAt: nullable(EpochMs),
  updatedAt: EpochMs,
});
export type DeviceOtaEntry = Static<typeof DeviceOtaEntry>;
