/**
 * Alerts as a platform part (issue 6; its own part since issue 12): stored, versioned rules
 * and their routes, the engine on the ingest spool (consumer `alerts`), the alert lifecycle,
 * notification channels with their delivery log, and backtests. Composed after the broker,
 * whose ports it reads: `ingestSpool`, `telemetryRecords` (decoded once), `deviceInbox`
 * (edge alerts) and `mqttPublisher` (`integrations/alerts`); `registry` for scopes and
 * `maintenance` to hold notifications of updating devices.
 */
import { requirePort, type Part, type PartDeps } from '@outpost/kernel';
import type { AlertEvent } from '@outpost/protocol';
import { createAlertsModule } from './alerts-module.js';
import type { AlertsOptions } from './alerts-options.js';

export const PART_NAME = 'alerts';

/** The alerts part; `onEvent` and `idle` are for tests and benchmarks. */
export interface AlertsPart extends Part {
  /** Every stored AlertEvent; returns the unsubscribe function. */
  onEvent(listener: (event: AlertEvent) => void): () => void;
  /** Resolves when every transition handed to the lifecycle so far is stored. */
  idle(): Promise<void>;
  /** Cluster nodes (ADR 0013): the alert partitions this node evaluates now. */
  ownedPartitions(): number[];
}

/**
 * The alerts part's factory. `options` tune the engine, deliveries and backtests (tests set
 * them to milliseconds); webhook target rules default to the configuration's
 * OUTPOST_WEBHOOK_ALLOW_PRIVATE / OUTPOST_WEBHOOK_ALLOW_HOSTS.
 */
export function createAlertsPart(options: AlertsOptions = {}): (deps: PartDeps) => AlertsPart {
  return (deps) => {
    const { config } = deps;
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as AlertsOptions;
    const mqtt = requirePort(deps.ports, 'mqttPublisher', PART_NAME);
    const deliveriesLease = deps.leases.lease('alerts-deliveries');
    // ADR 0013: with the alert-stream part (OUTPOST_REDIS_URL) rules run on the partitions this node
    // holds a lease for — on nodes that evaluate (control, or `all`); broker nodes only forward.
    const stream = deps.ports.alertStream;
    const evaluate = config.role !== 'broker';
    const partitionLeases = stream === undefined || !evaluate ? [] : Array.from({ length: stream.partitions }, (_, p) => deps.leases.lease(`alerts-p${p}`));
    const module = createAlertsModule({
      db: deps.db,
      secretKey: deps.secretKey,
      migrate: (part, migrations) => deps.migrate(part, migrations),
      auth: deps.auth,
      audit: deps.audit,
      live: deps.live,
      log: deps.log.child({ part: PART_NAME }),
      clock: deps.clock,
      registry: requirePort(deps.ports, 'registry', PART_NAME),
      maintenance: deps.ports.maintenance,
      spool: requirePort(deps.ports, 'ingestSpool', PART_NAME),
      records: requirePort(deps.ports, 'telemetryRecords', PART_NAME),
      edgeAlerts: requirePort(deps.ports, 'deviceInbox', PART_NAME).alerts,
      telemetry: deps.telemetry,
      publishMqtt: (message) => mqtt.publish(message),
      options: { webhookAllowPrivate: config.webhookAllowPrivate, webhookAllowHosts: config.webhookAllowHosts, ...given },
      // ADR 0011: on cluster nodes one node at a time attempts deliveries; it polls every third of the lease ttl.
      ...(stream === undefined
        ? {}
        : {
            cluster: {
              stream,
              evaluate,
              partitionLease: (p: number) => {
                const lease = partitionLeases[p];
                if (lease === undefined) throw new RangeError(`no lease for alert partition ${p}`);
                return lease;
              },
            },
          }),
      ...(config.role === 'all' ? {} : { deliveriesLease: { held: () => deliveriesLease.held(), pollMs: Math.max(1_000, Math.floor(config.leaseTtlMs / 3)) } }),
    });
    return {
      name: PART_NAME,
      routes: ({ operator }) => module.routes(operator),
      metrics: (registry) => module.metrics(registry),
      start: () => module.start(),
      ready: () => module.ready(),
      close: () => module.close(),
      onEvent: (listener) => module.onEvent(listener),
      idle: () => module.idle(),
      ownedPartitions: () => module.ownedPartitions(),
    };
  };
}
