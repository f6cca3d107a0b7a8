/**
 * Builds the rollout module (rollout-module.ts) on the OTA part's deps: its tables, the engine
 * with its tick loop (OUTPOST_OTA_TICK), the progress handler on the broker's inbox (awaited
 * before the PUBACK), presence re-delivery, late enrollees, health inputs, routes and metrics.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { requirePort, type Listeners } from '@outpost/kernel';
import type { Subscription } from 'rxjs';
import { RolloutMetrics } from './adapters/rollout-metrics.js';
import { RolloutStore } from './adapters/rollout-store.js';
import { rolloutMigrations, ROLLOUTS_MIGRATION_PART } from './adapters/rollout-tables.js';
import { registerRolloutRoutes } from './http/rollout-routes.js';
import { asAlertEvent } from './services/health-tracker.js';
import { RolloutEngine } from './services/rollout-engine.js';
import { RolloutService } from './services/rollout-service.js';
import type { RolloutModule, RolloutModuleInput } from './rollout-module.js';

const CONSUMER = 'ota rollouts';

export function newRolloutId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export async function createRolloutModule(input: RolloutModuleInput & { readonly newId?: (prefix: string) => string; readonly tickMs?: number }): Promise<RolloutModule> {
  const { deps, artifacts } = input;
  const log = deps.log.child({ module: 'rollouts' });
  const registry = requirePort(deps.ports, 'registry', CONSUMER);
  const channel = requirePort(deps.ports, 'deviceChannel', CONSUMER);
  const inbox = requirePort(deps.ports, 'deviceInbox', CONSUMER);
  const store = new RolloutStore(deps.db);
  const metrics = new RolloutMetrics(store);
  const newId = input.newId ?? newRolloutId;
  let deviceListener: Listeners['device'] | undefined;
  const devicePort = (): number => {
    if (deps.config.device.port !== 0) return deps.config.device.port;
    const address = deviceListener?.server.address() as AddressInfo | string | null | undefined;
    return typeof address === 'object' && address !== null ? address.port : 0;
  };
  const host = deps.config.publicHost.includes(':') ? `[${deps.config.publicHost}]` : deps.config.publicHost;
  const engine = new RolloutEngine({
    store,
    artifacts,
    registry,
    channel,
    live: deps.live,
    audit: deps.audit,
    log,
    clock: deps.clock,
    metrics,
    jobUrl: (artifactId) => `https://${host}:${devicePort()}/device/v1/firmware/${encodeURIComponent(artifactId)}`,
    newId,
  });
  const service = new RolloutService({ store, engine, registry, clock: deps.clock, newId });
  const subscriptions: Subscription[] = [];
  let removeHandler: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const tickMs = input.tickMs ?? deps.config.otaTickMs;
  // ADR 0011: the state machine advances on one node at a time (always held in one process).
  const lease = deps.leases.lease('ota-rollouts');
  const background = (what: string, work: Promise<unknown>): void => {
    work.catch((err: unknown) => log.error({ err }, `rollouts: ${what} failed`));
  };

  return {
    routes(listeners) {
      deviceListener = listeners.device;
      registerRolloutRoutes(listeners.operator, { service, auth: deps.auth, audit: deps.audit });
    },

    async start() {
      await deps.migrate(ROLLOUTS_MIGRATION_PART, rolloutMigrations);
      await engine.start();
      removeHandler = inbox.handleOtaProgress((message) => engine.onProgress(message));
      subscriptions.push(
        inbox.presence.subscribe((change) => {
          if (change.online) background('re-delivering a job', engine.onOnline(change.deviceId, change.at));
        }),
        inbox.telemetry.subscribe((m) => engine.health.seen(m.deviceId, m.receivedAt)),
        inbox.status.subscribe((m) => {
          engine.health.seen(m.deviceId, m.receivedAt);
          if (m.payload.state === 'online') engine.health.uptime(m.deviceId, m.payload.uptimeS, m.receivedAt);
        }),
        registry.events.subscribe((event) => {
          if (event.deviceId === undefined) return;
          if (event.type === 'enrolled' || event.type === 'group-changed' || event.type === 'tags-changed' || event.type === 'resumed') {
            background('adding a device to a rollout', engine.onDeviceChanged(event.deviceId));
          } else if (event.type === 'deleted') {
            engine.health.forget(event.deviceId);
          }
        }),
      );
      const events = deps.live.events;
      if (events === undefined) log.warn('rollouts: the live hub has no read side; health gates cannot see alerts');
      else {
        subscriptions.push(
          events.subscribe((event) => {
            if (event.topic !== 'alerts') return;
            const alert = asAlertEvent(event.payload);
            if (alert !== undefined) engine.health.alert(alert);
          }),
        );
      }
      timer = setInterval(() => {
        if (ticking !== undefined || !lease.held()) return;
        ticking = engine
          .tick()
          // The state database can be away (PostgreSQL restarting, issue 15): the next tick retries.
          .catch((err: unknown) => log.warn({ err }, 'rollouts: tick failed; the next tick retries'))
          .finally(() => {
            ticking = undefined;
          });
      }, tickMs);
      timer.unref();
    },

    async close() {
      if (timer !== undefined) clearInterval(timer);
      removeHandler?.();
      for (const s of subscriptions) s.unsubscribe();
      await ticking;
    },

    maintenance: { isUpdating: (deviceId) => engine.updating.has(deviceId) },
    hasJobFor: (deviceId, artifactId) => store.hasActiveJob(deviceId, artifactId),
    artifactInUse: (artifactId) => store.artifactInUse(artifactId),
    metrics: (registry) => metrics.register(registry),
  };
}
