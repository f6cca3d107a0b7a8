/**
 * Tuning of the broker part that SPEC's configuration does not cover (STYLE 17: every
 * duration is configurable, so tests never wait long). Checked once, all problems listed.
 */
import { OutpostError } from '@outpost/protocol';
import type { IngestOptions } from '@outpost/telemetry';
import type { IngestSink } from './ports/ingest-sink.js';

export interface BrokerPartOptions {
  /** A connection that sends no CONNECT within this long after its handshake is closed; default OUTPOST_MQTT_CONNECT_TIMEOUT. */
  readonly connectTimeoutMs?: number;
  /** A TLS handshake not done within this long after accept is dropped; default OUTPOST_MQTT_HANDSHAKE_TIMEOUT. */
  readonly handshakeTimeoutMs?: number;
  /** Most sockets handshaking at once; default OUTPOST_MQTT_MAX_HANDSHAKES. */
  readonly maxPendingHandshakes?: number;
  /** Most sockets handshaking at once from one address; default OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP. */
  readonly maxPendingHandshakesPerIp?: number;
  /** Largest MQTT packet (bytes after the fixed header) read before the connection is dropped; default OUTPOST_MQTT_MAX_PACKET_BYTES. */
  readonly maxPacketBytes?: number;
  /** Refusals before authentication are logged once per this interval, as a summary; default 60 s. */
  readonly refusalLogIntervalMs?: number;
  /** Lifetime of TLS session tickets (resumption), in seconds; default 2 h. */
  readonly tlsSessionTimeoutS?: number;
  /** 48 bytes of TLS ticket keys (broker nodes behind one address share them); random by default. */
  readonly tlsTicketKeys?: Buffer;
  /** How long a cached registry answer is trusted without an event; default 60 s. */
  readonly identityCacheTtlMs?: number;
  /** Most cached registry answers; default 100,000. */
  readonly identityCacheMaxEntries?: number;
  /**
   * The longest a publish over the device's rate is held (PUBACK withheld) before the device
   * is disconnected instead; default 10 s.
   */
  readonly maxWithholdMs?: number;
  /** How often idle devices' rate buckets are forgotten; default 60 s. */
  readonly quotaSweepMs?: number;
  /** A device's last-seen time is written at most this often from its traffic; default 30 s. */
  readonly seenIntervalMs?: number;
  /** The spool's consumers, whose cursors gate its reclamation; default `['ingest', 'alerts']` (`alerts`: the alerts part). */
  readonly spoolConsumers?: readonly string[];
  /** Replaces the ingest spool (tests: a slow or failing sink). */
  readonly sink?: IngestSink;
  /** Tuning of the ingest pipeline (spool → telemetry store). */
  readonly ingest?: IngestOptions;
}

export interface ResolvedBrokerOptions {
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerIp: number;
  readonly maxPacketBytes: number;
  readonly refusalLogIntervalMs: number;
  readonly tlsSessionTimeoutS: number;
  readonly tlsTicketKeys: Buffer | undefined;
  readonly identityCacheTtlMs: number;
  readonly identityCacheMaxEntries: number;
  readonly maxWithholdMs: number;
  readonly quotaSweepMs: number;
  readonly seenIntervalMs: number;
  readonly spoolConsumers: readonly string[];
  readonly sink: IngestSink | undefined;
  readonly ingest: IngestOptions;
}

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  maxPendingHandshakes: 1_000,
  maxPendingHandshakesPerIp: 50,
  maxPacketBytes: 327_680,
  refusalLogIntervalMs: 60_000,
  tlsSessionTimeoutS: 7_200,
  identityCacheTtlMs: 60_000,
  identityCacheMaxEntries: 100_000,
  maxWithholdMs: 10_000,
  quotaSweepMs: 60_000,
  seenIntervalMs: 30_000,
} as const;

export function resolveBrokerOptions(options: BrokerPartOptions = {}): ResolvedBrokerOptions {
  const problems: string[] = [];
  const numbers: Record<keyof typeof DEFAULTS, number> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) problems.push(`${key}: must be a whole number of at least 1, got ${String(value)}`);
    else numbers[key] = value;
  }
  if (options.tlsTicketKeys !== undefined && options.tlsTicketKeys.length !== 48) problems.push('tlsTicketKeys: must be 48 bytes');
  const consumers = options.spoolConsumers ?? ['ingest', 'alerts'];
  if (consumers.length === 0) problems.push('spoolConsumers: name at least one consumer');
  if (problems.length > 0) throw new OutpostError('VALIDATION_FAILED', `invalid broker options: ${problems.join('; ')}`, { details: problems });
  return Object.freeze({ ...numbers, tlsTicketKeys: options.tlsTicketKeys, spoolConsumers: Object.freeze([...consumers]), sink: options.sink, ingest: Object.freeze({ ...options.ingest }) });
}
