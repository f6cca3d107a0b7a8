import type { Observable } from 'rxjs';
import type { RegistryEvent } from '@outpost/protocol';

/**
 * Who holds a device's MQTT session in a cluster (issue 15, ADR 0010): the node and the
 * device's epoch, a counter raised by every connect. A session whose epoch is below the
 * device's current one is stale: fenced, closed, never acknowledged again.
 */
export interface DeviceClaim {
  readonly deviceId: string;
  readonly epoch: number;
  readonly nodeId: string;
}

/**
 * What the nodes of a cluster tell each other (OUTPOST_REDIS_URL set; provided by the
 * `cluster` part). Messages on the bus are at most once — a node that blips misses some —
 * so every consumer also re-reads its truth on `resyncs` (after a reconnect, and periodically).
 */
export interface ClusterBus {
  /** This node's id (unique per process start). */
  readonly nodeId: string;
  /** Registry events made on the other nodes (this node's own stay on `registry.events`). */
  readonly remoteRegistryEvents: Observable<RegistryEvent>;
  /** Claims made by the other nodes: a local session of that device with a lower epoch is stale. */
  readonly takeovers: Observable<DeviceClaim>;
  /** The bus (re)connected, or the periodic re-read is due: repair what a lost message missed. */
  readonly resyncs: Observable<void>;
  /** Raises the device's epoch and records this node as its holder; then tells the other nodes. */
  claimDevice(deviceId: string): Promise<DeviceClaim>;
  /** The device's current epoch (0 when never claimed); rejects after the bus's timeout. */
  epochOf(deviceId: string): Promise<number>;
  /** Forgets this node as the holder, if the claim is still the current one. */
  releaseDevice(claim: DeviceClaim): Promise<void>;
  /** The node holding the device now, if any. */
  holderOf(deviceId: string): Promise<DeviceClaim | undefined>;
  /** Whether the bus is connected now (readiness). */
  readonly connected: boolean;
}
