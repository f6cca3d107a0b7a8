/**
 * The alerts part's API answers as types, made from the routes' own schemas (issue 14 item 9):
 * the web app imports these type-only, so a route change breaks the app's type check. No values.
 */
import type { Static } from 'typebox';
import type { AlertView, RuleView, TestResult } from './schemas.js';

export type Alert = Static<typeof AlertView>;
export type Rule = Static<typeof RuleView>;
export type BacktestResult = Static<typeof TestResult>;
