/** The alerts module's Prometheus metrics (`outpost_alert_*`), created unregistered. */
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

export interface AlertsMetricSources {
  /** Enabled rules now. */
  rules(): number;
  /** now − newest arrival time processed, in ms; undefined before any. */
  lagMs(): number | undefined;
  /** Pending deliveries (approximate; refreshed by the delivery worker). */
  pendingDeliveries(): number;
  /** Cluster nodes (ADR 0013): alert partitions this node evaluates now; undefined elsewhere. */
  partitionsOwned?(): number | undefined;
}

export class AlertsMetrics {
  readonly evaluations = new Counter({ name: 'outpost_alert_rule_evaluations_total', help: 'Samples handed to a rule (one per sample and rule in scope)', registers: [] });
  readonly samples = new Counter({ name: 'outpost_alert_samples_total', help: 'Metric samples read from the ingest spool by the alert engine', registers: [] });
  readonly undecodable = new Counter({ name: 'outpost_alert_spool_records_refused_total', help: 'Spool records the alert engine could not decode (logged, skipped)', registers: [] });
  readonly transitions = new Counter({
    name: 'outpost_alert_transitions_total',
    help: 'Rule transitions, by state, source (platform|edge) and outcome (stored|duplicate|orphan|inactive-device)',
    labelNames: ['state', 'source', 'outcome'] as const,
    registers: [],
  });
  readonly notifications = new Counter({
    name: 'outpost_alert_notifications_total',
    help: 'Outbound notification attempts, by channel type and result (sent|failed|given-up); live hub events are not counted',
    labelNames: ['type', 'result'] as const,
    registers: [],
  });
  readonly suppressed = new Counter({
    name: 'outpost_alert_notifications_suppressed_total',
    help: 'Alert events stored but notified to no one, by reason (maintenance|late)',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly webhookSeconds = new Histogram({
    name: 'outpost_alert_webhook_duration_seconds',
    help: 'Webhook request latency (any answer, or the error)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });
  /**
   * Per read of the ingest spool (issue 12, alert latency): `evaluate` — its samples through the
   * rules; `store` — its transitions stored in one transaction, for reads that made any.
   */
  readonly readSeconds = new Histogram({
    name: 'outpost_alert_read_duration_seconds',
    help: 'Alert engine time per spool read, by stage: evaluate (the samples through the rules) and store (the transitions of a read that made any, one transaction)',
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [],
  });
  readonly engineErrors = new Counter({ name: 'outpost_alert_engine_errors_total', help: 'Failures of the alert engine (a batch is retried after them)', registers: [] });
  readonly #lag: Gauge;
  readonly #rules: Gauge;
  readonly #pending: Gauge;
  readonly #partitions: Gauge;

  constructor(sources: AlertsMetricSources) {
    this.#lag = new Gauge({
      name: 'outpost_alert_engine_lag_seconds',
      help: 'Now minus the newest arrival time of telemetry the alert engine has evaluated',
      registers: [],
      collect() {
        const lag = sources.lagMs();
        if (lag !== undefined) this.set(lag / 1000);
      },
    });
    this.#rules = new Gauge({
      name: 'outpost_alert_rules',
      help: 'Enabled alert rules',
      registers: [],
      collect() {
        this.set(sources.rules());
      },
    });
    this.#pending = new Gauge({
      name: 'outpost_alert_deliveries_pending',
      help: 'Notification deliveries waiting for their next attempt',
      registers: [],
      collect() {
        this.set(sources.pendingDeliveries());
      },
    });
    this.#partitions = new Gauge({
      name: 'outpost_alert_partitions_owned',
      help: 'Alert partitions this node evaluates (cluster nodes, ADR 0013)',
      registers: [],
      collect() {
        const owned = sources.partitionsOwned?.();
        if (owned !== undefined) this.set(owned);
      },
    });
  }

  register(registry: Registry): void {
    for (const metric of [this.evaluations, this.samples, this.undecodable, this.transitions, this.notifications, this.suppressed, this.webhookSeconds, this.readSeconds, this.engineErrors, this.#lag, this.#rules, this.#pending, this.#partitions] as Metric[]) {
      registry.registerMetric(metric);
    }
  }
}
