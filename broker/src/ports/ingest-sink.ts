/**
 * Where an accepted telemetry batch goes before its PUBACK (ARCHITECTURE "A PUBACK means
 * durable"): `append` resolves only once the batch is durable. Any rejection (spool full,
 * I/O failure, closing) makes the broker withhold the PUBACK, so the agent keeps the batch
 * and retries: nothing is acknowledged that was not stored.
 *
 * The append is queued (its place in the spool's order taken) before `append` returns; only
 * durability is awaited — so the broker can take the next publish of the client meanwhile.
 */
import type { TelemetryBatch } from '@outpost/protocol';

export interface IngestSink {
  /**
   * The raw, already validated TelemetryBatch bytes of `deviceId`, and the batch they decoded
   * to (handed on to the spool's consumers, which then need no second parse or validation).
   */
  append(deviceId: string, raw: Uint8Array, batch?: TelemetryBatch): Promise<void>;
  close(): Promise<void>;
}
