import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BrokerMetrics } from '../ports/broker-metrics.js';

/** The figures of the ingest spool the broker reports (a subset of telemetry's SpoolStats). */
export interface SpoolFigures {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly lastSeq: number;
  readonly fsyncs: number;
  readonly lastFsyncMs: number;
  readonly maxFsyncMs: number;
  readonly refusedFull: number;
  readonly consumers: Readonly<Record<string, { readonly depthBytes: number; readonly depthRecords: number }>>;
}

export interface MetricSources {
  /** Live sessions by kind. */
  connections(): { device: number; integration: number };
  /** Sockets whose TLS handshake is not done yet. */
  pendingHandshakes(): number;
  /** The spool's figures; undefined before it is open. */
  spool(): SpoolFigures | undefined;
}

/** The broker's Prometheus metrics (`outpost_mqtt_*`, `outpost_ingest_*`), created unregistered. */
export class PromBrokerMetrics implements BrokerMetrics {
  readonly #connects = new Counter({ name: 'outpost_mqtt_connects_total', help: 'MQTT sessions accepted', labelNames: ['kind'] as const, registers: [] });
  readonly #disconnects = new Counter({ name: 'outpost_mqtt_disconnects_total', help: 'MQTT sessions ended, by reason', labelNames: ['kind', 'reason'] as const, registers: [] });
  readonly #authFailures = new Counter({ name: 'outpost_mqtt_auth_failures_total', help: 'Refused MQTT/TLS connections, by reason', labelNames: ['reason'] as const, registers: [] });
  readonly #handshakesRefused = new Counter({ name: 'outpost_mqtt_handshakes_refused_total', help: 'Sockets destroyed on accept because too many TLS handshakes were pending, by scope (ip, total)', labelNames: ['scope'] as const, registers: [] });
  readonly #packetsRefused = new Counter({ name: 'outpost_mqtt_packets_refused_total', help: 'Connections dropped before buffering a packet over the packet size limit (or with a malformed length), by code', labelNames: ['code'] as const, registers: [] });
  readonly #aclRefusals = new Counter({ name: 'outpost_mqtt_acl_refusals_total', help: 'Publishes and subscriptions refused by the ACL (the client was disconnected)', labelNames: ['operation', 'reason'] as const, registers: [] });
  readonly #messagesIn = new Counter({ name: 'outpost_mqtt_messages_in_total', help: 'Messages received from clients, by topic kind', labelNames: ['kind'] as const, registers: [] });
  readonly #bytesIn = new Counter({ name: 'outpost_mqtt_bytes_in_total', help: 'Payload bytes received from clients, by topic kind', labelNames: ['kind'] as const, registers: [] });
  readonly #inByKind = new Map<string, { readonly messages: { inc(value?: number): void }; readonly bytes: { inc(value?: number): void } }>();
  readonly #messagesOut = new Counter({ name: 'outpost_mqtt_messages_out_total', help: 'Messages delivered to clients', registers: [] });
  readonly #bytesOut = new Counter({ name: 'outpost_mqtt_bytes_out_total', help: 'Payload bytes delivered to clients', registers: [] });
  readonly #validation = new Counter({ name: 'outpost_mqtt_validation_failures_total', help: 'Payloads acknowledged but refused (explained on devices/{id}/errors), by reason', labelNames: ['reason'] as const, registers: [] });
  readonly #rateLimited = new Counter({ name: 'outpost_mqtt_rate_limited_total', help: 'Publishes over the per-device rate: PUBACK withheld, or the device disconnected', labelNames: ['by', 'action'] as const, registers: [] });
  readonly #append = new Histogram({
    name: 'outpost_ingest_append_seconds',
    help: 'Time to make one accepted telemetry batch durable in the ingest spool (group-commit fsync included)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [],
  });
  readonly #connections: Gauge<'kind'>;
  readonly #pendingHandshakes: Gauge;
  readonly #spool: readonly Gauge<string>[];

  constructor(sources: MetricSources) {
    this.#connections = new Gauge({
      name: 'outpost_mqtt_connections',
      help: 'Live MQTT sessions, by kind',
      labelNames: ['kind'] as const,
      registers: [],
      collect() {
        const now = sources.connections();
        this.set({ kind: 'device' }, now.device);
        this.set({ kind: 'integration' }, now.integration);
      },
    });
    this.#pendingHandshakes = new Gauge({
      name: 'outpost_mqtt_pending_handshakes',
      help: 'Sockets accepted on the MQTT port whose TLS handshake is not done yet',
      registers: [],
      collect() {
        this.set(sources.pendingHandshakes());
      },
    });
    const spoolGauge = (name: string, help: string, read: (figures: SpoolFigures) => number): Gauge =>
      new Gauge({
        name,
        help,
        registers: [],
        collect() {
          const figures = sources.spool();
          if (figures !== undefined) this.set(read(figures));
        },
      });
    const depth = new Gauge({
      name: 'outpost_ingest_spool_depth_bytes',
      help: 'Bytes of accepted telemetry in the ingest spool a consumer has not committed yet, by consumer',
      labelNames: ['consumer'] as const,
      registers: [],
      collect() {
        for (const [consumer, stats] of Object.entries(sources.spool()?.consumers ?? {})) this.set({ consumer }, stats.depthBytes);
      },
    });
    const depthRecords = new Gauge({
      name: 'outpost_ingest_spool_depth_records',
      help: 'Accepted telemetry batches in the ingest spool a consumer has not committed yet, by consumer',
      labelNames: ['consumer'] as const,
      registers: [],
      collect() {
        for (const [consumer, stats] of Object.entries(sources.spool()?.consumers ?? {})) this.set({ consumer }, stats.depthRecords);
      },
    });
    this.#spool = [
      depth,
      depthRecords,
      spoolGauge('outpost_ingest_spool_bytes', 'Bytes of all spool segments', (f) => f.bytes),
      spoolGauge('outpost_ingest_spool_max_bytes', 'The bound of the spool (OUTPOST_SPOOL_MAX_BYTES)', (f) => f.maxBytes),
      spoolGauge('outpost_ingest_spool_last_seq', 'Sequence number of the newest durable batch', (f) => f.lastSeq),
      spoolGauge('outpost_ingest_spool_fsyncs', 'Group-commit fsyncs since the spool opened', (f) => f.fsyncs),
      spoolGauge('outpost_ingest_spool_fsync_last_seconds', 'Duration of the last group-commit fsync', (f) => f.lastFsyncMs / 1000),
      spoolGauge('outpost_ingest_spool_fsync_max_seconds', 'Longest group-commit fsync since the spool opened', (f) => f.maxFsyncMs / 1000),
      spoolGauge('outpost_ingest_spool_refused_full', 'Appends refused because the spool was full, since it opened', (f) => f.refusedFull),
    ];
  }

  register(registry: Registry): void {
    registry.registerMetric(this.#connects);
    registry.registerMetric(this.#disconnects);
    registry.registerMetric(this.#authFailures);
    registry.registerMetric(this.#aclRefusals);
    registry.registerMetric(this.#handshakesRefused);
    registry.registerMetric(this.#packetsRefused);
    registry.registerMetric(this.#pendingHandshakes);
    registry.registerMetric(this.#messagesIn);
    registry.registerMetric(this.#bytesIn);
    registry.registerMetric(this.#messagesOut);
    registry.registerMetric(this.#bytesOut);
    registry.registerMetric(this.#validation);
    registry.registerMetric(this.#rateLimited);
    registry.registerMetric(this.#append);
    registry.registerMetric(this.#connections);
    for (const gauge of this.#spool) registry.registerMetric(gauge);
  }

  connected(kind: 'device' | 'integration'): void {
    this.#connects.inc({ kind });
  }

  disconnected(kind: 'device' | 'integration', reason: string): void {
    this.#disconnects.inc({ kind, reason });
  }

  authFailure(reason: string): void {
    this.#authFailures.inc({ reason });
  }

  handshakeRefused(scope: 'ip' | 'total'): void {
    this.#handshakesRefused.inc({ scope });
  }

  packetRefused(code: 'PACKET_TOO_LARGE' | 'PACKET_MALFORMED'): void {
    this.#packetsRefused.inc({ code });
  }

  aclRefusal(operation: 'publish' | 'subscribe', reason: string): void {
    this.#aclRefusals.inc({ operation, reason });
  }

  messageIn(kind: string, bytes: number): void {
    // Every publish counts here: the labelled children are looked up once per topic kind, not hashed per message.
    let counters = this.#inByKind.get(kind);
    if (counters === undefined) {
      counters = { messages: this.#messagesIn.labels({ kind }), bytes: this.#bytesIn.labels({ kind }) };
      this.#inByKind.set(kind, counters);
    }
    counters.messages.inc();
    counters.bytes.inc(bytes);
  }

  messageOut(bytes: number): void {
    this.#messagesOut.inc();
    this.#bytesOut.inc(bytes);
  }

  validationFailure(reason: string): void {
    this.#validation.inc({ reason });
  }

  rateLimited(by: 'msgs' | 'bytes', action: 'withheld' | 'disconnected'): void {
    this.#rateLimited.inc({ by, action });
  }

  appendLatency(seconds: number): void {
    this.#append.observe(seconds);
  }
}
