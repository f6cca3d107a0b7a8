/**
 * The registry's API answers as types, made from the routes' own schemas (issue 14 item 9): the
 * web app imports these type-only, so a route change breaks the app's type check. No values.
 */
import type { Static } from 'typebox';
import type { FleetSummaryView, GroupView } from './group-routes.js';
import type { ConfigView } from './instruction-routes.js';
import type { Created } from './token-routes.js';
import type { CertificateView, CommandView, DeviceView, TokenView } from './views.js';

export type Device = Static<typeof DeviceView>;
export type Certificate = Static<typeof CertificateView>;
export type Command = Static<typeof CommandView>;
export type EnrollmentToken = Static<typeof TokenView>;
export type CreatedEnrollmentToken = Static<typeof Created>;
export type DeviceConfig = Static<typeof ConfigView>;
export type Group = Static<typeof GroupView>;
export type FleetSummary = Static<typeof FleetSummaryView>;
