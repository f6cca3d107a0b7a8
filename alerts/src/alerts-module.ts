/**
 * The alerts module (issue 6), composed as the alerts part (alerts-part.ts): stored, versioned rules; the engine on the
 * ingest spool; the alert lifecycle (firing → acknowledged → resolved) with its events;
 * notifications (live hub, signed webhooks with a durable delivery log, MQTT
 * `integrations/alerts`); backtests on stored telemetry. See README.md in this folder.
 */
import type { AlertStreamPort, Lease, AuditPort, AuthPort, Clock, Listeners, MaintenancePort, Migrations, MqttMessage, Readiness, StateDatabase, LivePort, InboxMessage, IngestSpool, TelemetryRecordsPort } from '@outpost/kernel';
import type { AlertEvent, EdgeAlert, Rule } from '@outpost/protocol';
import type { TelemetryStore } from '@outpost/telemetry';
import type { Registry } from 'prom-client';
import { BehaviorSubject, type Observable } from 'rxjs';
import { AlertStore } from './adapters/alert-store.js';
import { AlertsMetrics } from './adapters/alerts-metrics.js';
import { alertsMigrations, type AlertsTables } from './adapters/alerts-tables.js';
import { ChannelStore } from './adapters/channel-store.js';
import { createSecretSealer } from './adapters/secret-sealer.js';
import { WebhookTargetGuard } from './adapters/webhook-target.js';
import { KnownDeviceStore } from './adapters/known-device-store.js';
import { RuleStore } from './adapters/rule-store.js';
import { resolveAlertsOptions, type AlertsOptions } from './alerts-options.js';
import { registerAlertRoutes } from './http/alert-routes.js';
import { registerChannelRoutes } from './http/channel-routes.js';
import { registerRuleRoutes } from './http/rule-routes.js';
import { AlertEngine } from './services/alert-engine.js';
import { AlertLifecycle } from './services/alert-lifecycle.js';
import { AlertsService } from './services/alerts-service.js';
import { DeliveryWorker } from './services/delivery-worker.js';
import { PartitionEvaluator } from './services/partition-evaluator.js';
import { ScopeResolver, type AlertsRegistry } from './services/scope-resolver.js';

export type { AlertsOptions } from './alerts-options.js';
export type { AlertsRegistry } from './services/scope-resolver.js';
export { SPOOL_CONSUMER as ALERTS_SPOOL_CONSUMER } from './services/alert-engine.js';
export { signBody } from './adapters/webhook-sender.js';
export { alertsMigrations } from './adapters/alerts-tables.js';

export const ALERTS_PART = 'alerts';

export interface AlertsDeps {
  readonly db: StateDatabase;
  /** The platform secret key: webhook secrets are sealed with a key derived from it. */
  readonly secretKey: Buffer;
  migrate(part: string, migrations: Migrations): Promise<string[]>;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
  readonly live: LivePort;
  readonly log: Listeners['operator']['log'];
  readonly clock: Clock;
  /** lookup(id) → {group, tags, status} for scopes; `groupExists` (when the port has it) for rule checks. */
  readonly registry: AlertsRegistry;
  readonly maintenance: MaintenancePort;
  readonly spool: IngestSpool;
  /** The spool's records decoded once by the publish hook (the broker's `telemetryRecords` port, shared with ingest). */
  readonly records: TelemetryRecordsPort;
  readonly edgeAlerts: Observable<InboxMessage<EdgeAlert>>;
  readonly telemetry?: TelemetryStore | undefined;
  publishMqtt(message: MqttMessage): Promise<void>;
  readonly options?: AlertsOptions;
  /** Cluster nodes (ADR 0011): the webhook/MQTT deliveries lease and how often its holder polls for due rows. */
  readonly deliveriesLease?: { held(): boolean; readonly pollMs: number };
  /**
   * Cluster nodes (ADR 0013): the partitioned alert streams. With them the engine leaves the spool
   * to the forwarder; `evaluate` (control nodes, `all` with Redis) runs the partition evaluator,
   * owning partition p while it holds `partitionLease(p)`.
   */
  readonly cluster?: { readonly stream: AlertStreamPort; readonly evaluate: boolean; partitionLease(p: number): Lease };
}

export interface AlertsModule {
  routes(operator: Listeners['operator']): void;
  start(): Promise<void>;
  ready(): Readiness;
  metrics(registry: Registry): void;
  close(): Promise<void>;
  /** Every stored AlertEvent (tests, benchmarks); returns the unsubscribe function. */
  onEvent(listener: (event: AlertEvent) => void): () => void;
  /** Resolves when every transition handed to the lifecycle so far is stored. */
  idle(): Promise<void>;
  /** Cluster nodes: the partitions this node evaluates now (empty elsewhere). */
  ownedPartitions(): number[];
}

export function createAlertsModule(deps: AlertsDeps): AlertsModule {
  const options = resolveAlertsOptions(deps.options);
  const log = deps.log.child({ module: 'alerts' });
  const now = (): number => deps.clock.now();
  const db = deps.db.withTables<AlertsTables>();
  const ruleStore = new RuleStore(db);
  const alertStore = new AlertStore(db);
  const channelStore = new ChannelStore(db, createSecretSealer(deps.secretKey));
  const webhookTargets = new WebhookTargetGuard({
    allowPrivate: options.webhookAllowPrivate,
    allowHosts: options.webhookAllowHosts,
    ...(options.webhookLookup === undefined ? {} : { lookup: options.webhookLookup }),
  });
  const knownDevices = new KnownDeviceStore(db);
  const rules$ = new BehaviorSubject<readonly Rule[]>([]);
  const scope = new ScopeResolver(deps.registry, now, options.scopeCacheTtlMs);
  const metrics: AlertsMetrics = new AlertsMetrics({
    rules: () => service.enabledRules,
    lagMs: () => {
      const newest = engine.newestArrival;
      if (newest === undefined) return undefined;
      const depth = safeDepth();
      return depth === 0 ? 0 : Math.max(0, now() - newest);
    },
    pendingDeliveries: (): number => deliveries.pending,
    partitionsOwned: () => evaluator?.owned.length,
  });
  const safeDepth = (): number | undefined => {
    try {
      return deps.spool.stats().consumers['alerts']?.depthRecords;
    } catch {
      return undefined;
    }
  };
  const deliveries: DeliveryWorker = new DeliveryWorker({
    channels: channelStore,
    publishMqtt: (message) => deps.publishMqtt(message),
    webhookTargets,
    metrics,
    log,
    now,
    options: { webhookTimeoutMs: options.webhookTimeoutMs, retryBaseMs: options.retryBaseMs, retryMaxMs: options.retryMaxMs, maxAttempts: options.maxAttempts, concurrency: options.deliveryConcurrency },
    ...(deps.deliveriesLease === undefined ? {} : { lease: deps.deliveriesLease }),
  });
  const lifecycle: AlertLifecycle = new AlertLifecycle({
    alerts: alertStore,
    channels: channelStore,
    metrics,
    now,
    newId: options.newId,
    isUpdating: (deviceId) => deps.maintenance.isUpdating(deviceId),
    rule: (ruleId): Rule | undefined => service.rule(ruleId),
    live: deps.live,
    wakeDeliveries: () => deliveries.wake(),
    log,
  });
  const engine = new AlertEngine({
    spool: deps.spool,
    records: deps.records,
    edgeAlerts: deps.edgeAlerts,
    rules$,
    scope,
    lifecycle,
    knownDevices,
    metrics,
    log,
    now,
    ...(deps.cluster === undefined ? {} : { readSpool: false }),
    options,
  });
  const cluster = deps.cluster;
  const evaluator =
    cluster === undefined || !cluster.evaluate
      ? undefined
      : new PartitionEvaluator({
          stream: cluster.stream,
          lease: (p) => cluster.partitionLease(p),
          rules$,
          scope,
          engine,
          refreshOpen: () => lifecycle.refreshOpen(),
          reloadRules: () => service.reload(),
          lastFiredAt: (ruleId, deviceId) => alertStore.lastFiredAt(ruleId, deviceId, 'platform'),
          openAlerts: () => alertStore.openAlerts(),
          onEvent: (listener) => lifecycle.onEvent(listener),
          metrics,
          log,
          now,
          options: {
            latenessMs: options.latenessMs,
            readCount: options.partitionReadCount,
            blockMs: options.partitionBlockMs,
            replayMs: options.partitionReplayMs,
            checkMs: options.partitionCheckMs,
            ruleSyncMs: options.ruleSyncMs,
            retryBaseMs: Math.min(options.retryBaseMs, 1_000),
            retryMaxMs: Math.min(options.retryMaxMs, 5_000),
          },
        });
  const service: AlertsService = new AlertsService({
    rules: ruleStore,
    alerts: alertStore,
    channels: channelStore,
    rules$,
    scope,
    lifecycle,
    backtest: { telemetry: deps.telemetry, scope, expectedDevices: (rule) => engine.expectedDevices(rule), options },
    prefetch: (rules) => engine.prefetchFor(rules),
    webhookTargets,
    now,
    newId: options.newId,
  });
  scope.onEvent((event) => {
    if (event.type === 'deleted' && event.deviceId !== undefined) void engine.forget(event.deviceId).catch((err: unknown) => log.error({ err, deviceId: event.deviceId }, 'alerts: could not forget a deleted device'));
  });
  let state: Readiness = 'down';

  return {
    routes(operator) {
      const routeDeps = { service: service, auth: deps.auth, audit: deps.audit };
      registerRuleRoutes(operator, routeDeps);
      registerAlertRoutes(operator, routeDeps);
      registerChannelRoutes(operator, routeDeps);
    },

    async start() {
      await deps.migrate(ALERTS_PART, alertsMigrations);
      const sealed = await channelStore.sealPlaintextSecrets();
      if (sealed > 0) log.warn({ channels: sealed }, 'alerts: sealed webhook secrets that were stored in plaintext');
      scope.start();
      await service.load();
      await engine.start();
      evaluator?.start();
      deliveries.start();
      state = 'ok';
      log.info({ rules: rules$.value.length, checksGroups: scope.checksGroups }, 'alerts: engine started');
      if (!scope.checksGroups) log.warn('alerts: the registry port cannot tell whether a group exists; rule scopes naming unknown groups are accepted');
    },

    ready: () => state,

    metrics(registry) {
      metrics.register(registry);
    },

    async close() {
      state = 'down';
      await evaluator?.close();
      await engine.close();
      await deliveries.close();
      scope.stop();
      rules$.complete();
    },

    onEvent: (listener) => lifecycle.onEvent(listener),
    idle: () => engine.idle(),
    ownedPartitions: () => evaluator?.owned ?? [],
  };
}
