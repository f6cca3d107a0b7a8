import type { Registry } from 'prom-client';
import type { Listeners, MaintenancePort, PartDeps } from '@outpost/kernel';
import type { Manifest } from '@outpost/protocol';

/** One verified, stored firmware artifact as the rollouts see it (provided by the firmware store). */
export interface StoredArtifact {
  readonly id: string;
  readonly manifest: Manifest;
  readonly signature: { readonly keyId: string; readonly sig: string };
  readonly size: number;
  readonly sha256: string;
}

/** The firmware store's read side the rollouts need: an artifact by id, or undefined. */
export interface ArtifactLookup {
  get(artifactId: string): Promise<StoredArtifact | undefined>;
}

/**
 * The rollouts of the OTA part (issue 13, items 3, 5, 6): jobs, durable progress, waves and
 * health gates, the maintenance port, the `/rollouts` API. The OTA part creates it with its
 * own deps and calls `routes`, `metrics`, `start` and `close` from its own.
 */
export interface RolloutModule {
  /** Operator routes `/api/v1/rollouts…`. */
  routes(listeners: Listeners): void;
  start(): Promise<void>;
  close(): Promise<void>;
  /** `ports.maintenance`: true while a device has an active job. */
  readonly maintenance: MaintenancePort;
  /** Device download authorisation: the device has a live (uncancelled) job for this artifact. */
  hasJobFor(deviceId: string, artifactId: string): Promise<boolean>;
  /** True while a rollout not yet final uses the artifact (firmware delete is refused). */
  artifactInUse(artifactId: string): Promise<boolean>;
  metrics(registry: Registry): void;
}

export interface RolloutModuleInput {
  readonly deps: PartDeps;
  readonly artifacts: ArtifactLookup;
}

export { createRolloutModule } from './create-rollout-module.js';
