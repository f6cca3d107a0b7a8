export { createAlertsPart, PART_NAME, type AlertsPart } from './alerts-part.js';
export { createAlertsModule, alertsMigrations, ALERTS_SPOOL_CONSUMER, signBody, type AlertsModule, type AlertsDeps, type AlertsOptions, type AlertsRegistry } from './alerts-module.js';
export type * as AlertsApi from './http/api-types.js';
