/** ReportedConfig (`devices/{id}/config/reported`): whether a DesiredConfig version was applied. */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Count, EpochMs, ErrorInfo, V1 } from './common.js';

export const ReportedConfig = Type.Object(
  {
    v: V1,
    version: Count,
    applied: Type.Boolean(),
    error: Type.Optional(ErrorInfo),
    at: EpochMs,
  },
  { additionalProperties: false },
);
export type ReportedConfig = Static<typeof ReportedConfig>;
