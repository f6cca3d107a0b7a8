import { createAlertsPart } from '@outpost/alerts';
import { createAlertStreamPart, createBrokerPart, createClusterPart } from '@outpost/broker';
import { createDashboardPart } from '@outpost/dashboard';
import { createRegistryPart } from '@outpost/device-registry';
import type { PartFactory } from '@outpost/kernel';
import { createOtaPart } from '@outpost/ota';

/**
 * The parts `outpost server` composes, in start order (ADR 0007): each part's factory sees
 * the ports of the parts before it, so a provider comes before its consumers.
 *
 * - registry: provides `tls`, `registry`, `mqttListener`
 * - cluster (only with `{ cluster: true }`, i.e. OUTPOST_REDIS_URL set; ADR 0010): needs `registry`;
 *   provides `cluster` (device epochs, presence, registry/live/takeover events across nodes), which
 *   the broker picks up by itself
 * - broker: needs `registry`, `tls` (tells `mqttListener`); provides `deviceChannel`, `deviceInbox`,
 *   `ingestSpool`, `telemetryRecords`, `mqttPublisher`
 * - alert-stream (only with `{ cluster: true }`; ADR 0013): needs `ingestSpool`, `telemetryRecords`;
 *   provides `alertStream` (the spool forwarded to partitioned Redis streams), which alerts picks up
 * - ota: needs `registry`, `deviceChannel`, `deviceInbox`; provides `maintenance`
 * - alerts: needs `registry`, `ingestSpool`, `telemetryRecords`, `deviceInbox`, `mqttPublisher`, `maintenance`
 * - dashboard: needs `registry`
 *
 * `maintenance` is the platform's own (false for every device) unless a part provides it: OTA
 * does, so it comes before alerts. The platform imports every part statically: nothing is
 * looked up at run time.
 */
export function serverParts(options: { readonly cluster?: boolean } = {}): PartFactory[] {
  const cluster = options.cluster === true ? [createClusterPart()] : [];
  // ADR 0013: the broker's spool forwarded to partitioned alert streams, evaluated once across the cluster.
  const alertStream = options.cluster === true ? [createAlertStreamPart()] : [];
  return [createRegistryPart(), ...cluster, createBrokerPart(), ...alertStream, createOtaPart(), createAlertsPart(), createDashboardPart()];
}

/** The names of the composed parts, in start order (as `/readyz` lists them). */
export const SERVER_PART_NAMES = ['registry', 'broker', 'ota', 'alerts', 'dashboard'] as const;
