/**
 * Where an accepted telemetry batch goes before its PUBACK (ARCHITECTURE "A PUBACK means
 * durable"): `append` resolves only once the batch is durable. Any rejection (spool full,
 * I/O failure, closing) makes the broker withhold the PUBACK, so the agent keeps the batch
 * and retries: nothing is acknowledged that was not stored.
 */
export interface IngestSink {
  /** The raw, already validated TelemetryBatch bytes of `deviceId`. */
  append(deviceId: string, batch: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
