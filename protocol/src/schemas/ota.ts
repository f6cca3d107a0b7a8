/** OtaJob (`devices/{id}/ota/job`, retained) and OtaProgress (`devices/{id}/ota/progress`). */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Count, DurationS, EpochMs, ErrorInfo, Id, V1 } from './common.js';
import { Manifest } from './manifest.js';
import { Signature } from './trust-set.js';

export const OtaJob = Type.Object(
  {
    v: V1,
    jobId: Id,
    rolloutId: Id,
    manifest: Manifest,
    signature: Signature,
    /** Where to download the artifact: an absolute http(s) URL, or a path on the device listener. */
    url: Type.String({ pattern: '^(?:https?://|/)[^\\s]*$', maxLength: 2048, description: 'an http(s) URL or an absolute path' }),
    allowDowngrade: Type.Boolean(),
    confirmDeadlineS: DurationS,
    /** A cancelled job is a job with `cancel: true`, never an empty payload. */
    cancel: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type OtaJob = Static<typeof OtaJob>;

export const OtaState = Type.Enum([
  'queued',
  'downloading',
  'verifying',
  'installing',
  'activating',
  'health-checking',
  'succeeded',
  'failed',
  'rolled-back',
]);
export type OtaState = Static<typeof OtaState>;

export const OtaProgress = Type.Object(
  {
    v: V1,
    jobId: Id,
    state: OtaState,
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Bytes downloaded so far. */
    bytes: Type.Optional(Count),
    error: Type.Optional(ErrorInfo),
    at: EpochMs,
  },
  { additionalProperties: false },
);
export type OtaProgress = Static<typeof OtaProgress>;
