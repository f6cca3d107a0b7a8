/**
 * Alerts evaluated once across a cluster (issue 15 item 5, docs/adr/0013-alert-partitions.md;
 * provided by the `alert-stream` part when OUTPOST_REDIS_URL is set). Broker nodes forward each
 * accepted telemetry batch, after it is durable in their spool, to one of `partitions` streams
 * chosen by a hash of the device id; the alerts part evaluates the partitions it holds a lease
 * for. Entries carry the batch as the publish hook accepted it (already validated).
 */
import type { TelemetryBatch } from '@outpost/protocol';

export interface AlertStreamEntry {
  /** The stream entry id (`<ms>-<n>`): ordered within a partition. */
  readonly id: string;
  readonly deviceId: string;
  /** When the broker node received the batch (epoch ms). */
  readonly receivedAt: number;
  readonly batch: TelemetryBatch;
}

export interface AlertStreamPort {
  /** How many partitions the devices are spread over (the same on every node). */
  readonly partitions: number;
  /** The partition of a device (a stable hash of its id). */
  partitionOf(deviceId: string): number;
  /**
   * Reads for the consumer group: the entries of partition `p` delivered before and not
   * acknowledged (`pending`), or, for each partition listed, new ones (waiting up to `blockMs`).
   */
  readPending(p: number, count: number): Promise<AlertStreamEntry[]>;
  readNew(partitions: readonly number[], count: number, blockMs: number): Promise<Map<number, AlertStreamEntry[]>>;
  /** Entries of partition `p` with ids in [fromId, toId], oldest first (a new owner's warm-up). */
  range(p: number, fromId: string, toId: string, count: number): Promise<AlertStreamEntry[]>;
  /** The group's last delivered entry id of partition `p` ('0-0' when none). */
  lastDelivered(p: number): Promise<string>;
  /** Acknowledges handled entries (their transitions are stored). */
  ack(p: number, ids: readonly string[]): Promise<void>;
}
