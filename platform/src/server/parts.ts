import type { PartFactory } from '../part.js';

/**
 * The parts `outpost server` composes, in start order. Each later issue adds its
 * part here (registry, then broker, telemetry ingest, alerts, OTA, dashboard);
 * providers of a port come before its consumers.
 */
export const serverParts: readonly PartFactory[] = [];
