/**
 * The dashboard part's API answers as types, made from the routes' own schemas (issue 14 item 9):
 * the web app imports these type-only, so a route change breaks the app's type check. No values.
 */
import type { Static } from 'typebox';
import type { LatestAnswer, MetricsAnswer, SeriesAnswer } from './schemas.js';

export type Series = Static<typeof SeriesAnswer>;
export type Latest = Static<typeof LatestAnswer>;
export type MetricList = Static<typeof MetricsAnswer>;
