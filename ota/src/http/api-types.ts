/**
 * The OTA part's API answers as types, made from the routes' own schemas (issue 14 item 9): the
 * web app imports these type-only, so a route change breaks the app's type check. No values.
 */
import type { Static } from 'typebox';
import type { DeviceOtaEntry as DeviceOtaEntrySchema, RolloutDetail as RolloutDetailSchema, RolloutDeviceView, RolloutView } from '../rollouts/http/rollout-schemas.js';
import type { ArtifactSummary } from './schemas.js';

export type Artifact = Static<typeof ArtifactSummary>;
export type Rollout = Static<typeof RolloutView>;
export type RolloutDetail = Static<typeof RolloutDetailSchema>;
export type RolloutDevice = Static<typeof RolloutDeviceView>;
export type DeviceOtaEntry = Static<typeof DeviceOtaEntrySchema>;
