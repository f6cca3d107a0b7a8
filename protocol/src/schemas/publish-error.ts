/** PublishError (`devices/{id}/errors`): why an acknowledged publish was not stored. */
import Type from 'typebox';
import type { Static } from 'typebox';
import { PUBLISH_ERROR_CODES } from '../errors.js';
import { Count, V1 } from './common.js';

export const PublishError = Type.Object(
  {
    v: V1,
    /** The topic of the refused publish. */
    topic: Type.String({ minLength: 1, maxLength: 256 }),
    /** The refused TelemetryBatch's `seq`, when there was one. */
    seq: Type.Optional(Count),
    code: Type.Enum([...PUBLISH_ERROR_CODES]),
    reason: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type PublishError = Static<typeof PublishError>;
