export { createDashboardPart, PART_NAME, type DashboardPartOptions } from './dashboard-part.js';
export { DEFAULT_QUERY_LIMITS, resolveWindow, type QueryLimits, type QueryWindow } from './domain/query-window.js';
export { formatEvery, ROUND_BUCKETS_MS } from './domain/bucket-sizes.js';
export type * as DashboardApi from './http/api-types.js';
