/** Every interval, timeout, backoff and bound of the alerts module (tests set them to ms). */
import { randomBytes } from 'node:crypto';
import type { WebhookLookup } from './adapters/webhook-target.js';

export interface AlertsOptions {
  /**
   * Allowed lateness (ARCHITECTURE step 4): a transition decided on a sample more than this
   * behind its device's newest data or its own arrival is stored `late` and notifies no one.
   * Default 5 minutes.
   */
  readonly latenessMs?: number;
  /** Spool reading: most records per batch (500), how long a partial batch waits (0). */
  readonly spoolMaxRecords?: number;
  readonly spoolMaxWaitMs?: number;
  /**
   * Evaluate a batch once the spool has written it, without waiting for its group's fsync
   * (SpoolReadOptions.written); default true. The cursor still commits only durable records, so
   * a crash of the machine re-reads that group (a repeated firing finds its alert open). False:
   * rules see only durable batches, and every alert waits for the disk's fsync.
   */
  readonly spoolReadsWritten?: boolean;
  /** Registry lookups (device → group, tags) are cached this long unless an event invalidates them; default 10 minutes. */
  readonly scopeCacheTtlMs?: number;
  /** Webhook: request timeout (5 s). */
  readonly webhookTimeoutMs?: number;
  /** Deliveries: first retry after this (1 s), doubling up to `retryMaxMs` (5 min), at most `maxAttempts` tries (10). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly maxAttempts?: number;
  /** Deliveries attempted at once (4). */
  readonly deliveryConcurrency?: number;
  /** Backtest bounds: longest range (31 days), most samples read (500,000), page size of `telemetry.raw()` (10,000). */
  readonly backtestMaxRangeMs?: number;
  readonly backtestMaxSamples?: number;
  readonly backtestPageSize?: number;
  /** How often a device's last-seen time is written to the known-devices table at most (60 s). */
  readonly knownDeviceWriteMs?: number;
  /** Id generator (tests make ids predictable); default random base32-ish text with a prefix. */
  readonly newId?: (prefix: string) => string;
  /**
   * Webhook targets (issue 11, D8): loopback, link-local and unspecified addresses are refused
   * unless `webhookAllowPrivate` (OUTPOST_WEBHOOK_ALLOW_PRIVATE) or the host name / a CIDR is in
   * `webhookAllowHosts` (OUTPOST_WEBHOOK_ALLOW_HOSTS). `webhookLookup` resolves names (default DNS).
   */
  readonly webhookAllowPrivate?: boolean;
  readonly webhookAllowHosts?: readonly string[];
  readonly webhookLookup?: WebhookLookup;
  /**
   * Cluster evaluation (ADR 0013): entries per stream read (500), how long a read waits for new
   * entries (1 s), how far back a new partition owner replays to rebuild rule state (1 h), how
   * often the partition leases are looked at (500 ms), how often an evaluating node re-reads the
   * rules another node's API may have changed (2 s).
   */
  readonly partitionReadCount?: number;
  readonly partitionBlockMs?: number;
  readonly partitionReplayMs?: number;
  readonly partitionCheckMs?: number;
  readonly ruleSyncMs?: number;
}

export interface ResolvedAlertsOptions {
  readonly latenessMs: number;
  readonly spoolMaxRecords: number;
  readonly spoolMaxWaitMs: number;
  readonly spoolReadsWritten: boolean;
  readonly scopeCacheTtlMs: number;
  readonly webhookTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxAttempts: number;
  readonly deliveryConcurrency: number;
  readonly backtestMaxRangeMs: number;
  readonly backtestMaxSamples: number;
  readonly backtestPageSize: number;
  readonly knownDeviceWriteMs: number;
  readonly newId: (prefix: string) => string;
  readonly webhookAllowPrivate: boolean;
  readonly webhookAllowHosts: readonly string[];
  readonly webhookLookup: WebhookLookup | undefined;
  readonly partitionReadCount: number;
  readonly partitionBlockMs: number;
  readonly partitionReplayMs: number;
  readonly partitionCheckMs: number;
  readonly ruleSyncMs: number;
}

const DAY_MS = 86_400_000;


export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function resolveAlertsOptions(options: AlertsOptions = {}): ResolvedAlertsOptions {
  const positive = (name: keyof AlertsOptions, value: number | undefined, fallback: number): number => {
    const chosen = value ?? fallback;
    if (!(chosen > 0)) throw new RangeError(`alerts option ${name} must be above 0, got ${chosen}`);
    return chosen;
  };
  return Object.freeze({
    latenessMs: positive('latenessMs', options.latenessMs, 300_000),
    spoolMaxRecords: positive('spoolMaxRecords', options.spoolMaxRecords, 500),
    spoolMaxWaitMs: options.spoolMaxWaitMs ?? 0,
    spoolReadsWritten: options.spoolReadsWritten ?? true,
    scopeCacheTtlMs: positive('scopeCacheTtlMs', options.scopeCacheTtlMs, 600_000),
    webhookTimeoutMs: positive('webhookTimeoutMs', options.webhookTimeoutMs, 5_000),
    retryBaseMs: positive('retryBaseMs', options.retryBaseMs, 1_000),
    retryMaxMs: positive('retryMaxMs', options.retryMaxMs, 300_000),
    maxAttempts: positive('maxAttempts', options.maxAttempts, 10),
    deliveryConcurrency: positive('deliveryConcurrency', options.deliveryConcurrency, 4),
    backtestMaxRangeMs: positive('backtestMaxRangeMs', options.backtestMaxRangeMs, 31 * DAY_MS),
    backtestMaxSamples: positive('backtestMaxSamples', options.backtestMaxSamples, 500_000),
    backtestPageSize: positive('backtestPageSize', options.backtestPageSize, 10_000),
    knownDeviceWriteMs: positive('knownDeviceWriteMs', options.knownDeviceWriteMs, 60_000),
    newId: options.newId ?? randomId,
    webhookAllowPrivate: options.webhookAllowPrivate ?? false,
    webhookAllowHosts: options.webhookAllowHosts ?? [],
    webhookLookup: options.webhookLookup,
    partitionReadCount: positive('partitionReadCount', options.partitionReadCount, 500),
    partitionBlockMs: positive('partitionBlockMs', options.partitionBlockMs, 1_000),
    partitionReplayMs: positive('partitionReplayMs', options.partitionReplayMs, 3_600_000),
    partitionCheckMs: positive('partitionCheckMs', options.partitionCheckMs, 500),
    ruleSyncMs: positive('ruleSyncMs', options.ruleSyncMs, 2_000),
  });
}
