/**
 * OTA as a platform part (issue 13): signing keys and the TrustSet, signed firmware artifacts
 * stored content-addressed, the device download route, and the rollouts (ota/src/rollouts).
 * Composed after the registry and the broker, whose ports it reads: `registry` (device
 * certificates, the fleet), `deviceChannel` (TrustSet and OtaJob publishing) and
 * `deviceInbox` (presence, progress); it provides `maintenance` to the parts after it (alerts).
 */
import { requirePort, type MaintenancePort, type Part, type PartDeps, type Readiness } from '@outpost/kernel';
import type { Subscription } from 'rxjs';
import { ArtifactStore } from './adapters/artifact-store.js';
import { BlobStore } from './adapters/blob-store.js';
import { OtaMetrics } from './adapters/ota-metrics.js';
import { OTA_MIGRATIONS_NAME, otaMigrations, type OtaTables } from './adapters/ota-tables.js';
import { TrustSetStore } from './adapters/trust-set-store.js';
import { registerDownloadRoute } from './http/download-route.js';
import { registerFirmwareRoutes } from './http/firmware-routes.js';
import { registerKeyRoutes } from './http/key-routes.js';
import { resolveOtaOptions, type OtaOptions } from './ota-options.js';
import { createRolloutModule, type ArtifactLookup } from './rollouts/rollout-module.js';
import { DownloadGate } from './services/download-gate.js';
import { FirmwareService } from './services/firmware-service.js';
import { TrustService } from './services/trust-service.js';

export const PART_NAME = 'ota';

/** The OTA part; `idle` is for tests (trust set publications finished). */
export interface OtaPart extends Part {
  idle(): Promise<void>;
}

/** The OTA part's factory; `options` override the configuration's bounds (tests). */
export function createOtaPart(options: OtaOptions = {}): (deps: PartDeps) => Promise<OtaPart> {
  return async (deps) => {
    const registry = requirePort(deps.ports, 'registry', PART_NAME);
    const channel = requirePort(deps.ports, 'deviceChannel', PART_NAME);
    const inbox = requirePort(deps.ports, 'deviceInbox', PART_NAME);
    const resolved = resolveOtaOptions(deps.config, options);
    const log = deps.log.child({ part: PART_NAME });
    const now = (): number => deps.clock.now();
    const db = deps.db.withTables<OtaTables>();
    const trustStore = new TrustSetStore(db);
    const artifacts = new ArtifactStore(db);
    const blobs = new BlobStore(deps.config.firmwareDir);
    const gate = new DownloadGate(resolved.maxDownloads);
    const trust = new TrustService({ store: trustStore, channel, registry, log, now });
    const metrics = new OtaMetrics({ downloadsInFlight: () => gate.inFlight, trust: () => trust.figures });
    const lookup: ArtifactLookup = { get: (id) => artifacts.get(id) };
    const rollouts = await createRolloutModule({ deps, artifacts: lookup });
    const firmware = new FirmwareService({
      artifacts,
      blobs,
      trustSet: () => trust.current(),
      artifactInUse: (id) => rollouts.artifactInUse(id),
      maxBytes: resolved.firmwareMaxBytes,
      log,
      now,
      onUpload: (outcome, bytes) => {
        metrics.uploads.inc({ outcome });
        metrics.uploadBytes.inc(bytes);
      },
    });
    const maintenance: MaintenancePort = { isUpdating: (deviceId) => rollouts.maintenance.isUpdating(deviceId) };
    const subscriptions: Subscription[] = [];
    let state: Readiness = 'down';

    return {
      name: PART_NAME,
      provides: { maintenance },

      routes(listeners) {
        registerKeyRoutes(listeners.operator, { trust, store: trustStore, auth: deps.auth, audit: deps.audit });
        registerFirmwareRoutes(listeners.operator, { firmware, auth: deps.auth, audit: deps.audit });
        registerDownloadRoute(listeners.device, {
          registry,
          artifacts,
          blobs,
          gate,
          hasJobFor: (deviceId, artifactId) => rollouts.hasJobFor(deviceId, artifactId),
          bytesPerS: resolved.downloadBytesPerS,
          retryAfterS: resolved.downloadRetryAfterS,
          metrics: {
            served: (bytes) => metrics.bytesServed.inc(bytes),
            refused: (reason) => metrics.refusals.inc({ reason }),
            started: () => metrics.downloads.inc(),
          },
        });
        rollouts.routes(listeners);
      },

      metrics(promRegistry) {
        metrics.register(promRegistry);
        rollouts.metrics(promRegistry);
      },

      async start() {
        await deps.migrate(OTA_MIGRATIONS_NAME, otaMigrations);
        const leftovers = await blobs.open();
        if (leftovers > 0) log.warn({ files: leftovers, dir: blobs.tmpDir }, 'ota: removed temporary files of interrupted uploads');
        const set = await trust.load();
        subscriptions.push(
          inbox.presence.subscribe((change) => {
            if (change.online) trust.deliverInBackground(change.deviceId);
          }),
        );
        await rollouts.start();
        state = 'ok';
        log.info({ trustSetVersion: set.version, keys: set.keys.length, maxDownloads: resolved.maxDownloads }, 'ota: started');
      },

      ready: () => state,

      async close() {
        state = 'down';
        for (const s of subscriptions.splice(0)) s.unsubscribe();
        await rollouts.close();
        await trust.idle();
      },

      idle: () => trust.idle(),
    };
  };
}
