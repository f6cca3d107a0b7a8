import type { Observable } from 'rxjs';
import type { CommandResult, DeviceStatus, EdgeAlert, OtaProgress, ReportedConfig, TelemetryBatch } from '@outpost/protocol';

/** One accepted device → platform message: validated and typed. */
export interface InboxMessage<T> {
  readonly deviceId: string;
  readonly payload: T;
  /** When the broker accepted it (epoch ms). */
  readonly receivedAt: number;
}

/** A device's session opened or closed on this broker. */
export interface PresenceChange {
  readonly deviceId: string;
  readonly online: boolean;
  readonly at: number;
  /** Why the session ended, when the broker ended it (e.g. `device revoked`). */
  readonly reason?: string;
}

/**
 * Typed device → platform streams (SPEC "Composition": provided by the broker as
 * `ports.deviceInbox`). Hot, in-process and not durable: a subscriber sees what arrives
 * while it is subscribed. The durable telemetry path is the ingest spool (a PUBACK means
 * the batch is in it), not `telemetry` here.
 */
export interface DeviceInbox {
  readonly telemetry: Observable<InboxMessage<TelemetryBatch>>;
  readonly status: Observable<InboxMessage<DeviceStatus>>;
  readonly reportedConfig: Observable<InboxMessage<ReportedConfig>>;
  readonly commandResults: Observable<InboxMessage<CommandResult>>;
  readonly alerts: Observable<InboxMessage<EdgeAlert>>;
  readonly otaProgress: Observable<InboxMessage<OtaProgress>>;
  readonly presence: Observable<PresenceChange>;
  /**
   * Makes OtaProgress durable before its PUBACK (issue 13, item 3; like command results):
   * the broker awaits `handler` before it acknowledges a progress report, and withholds the
   * PUBACK when it rejects (the device sends it again). One handler (the OTA part); a second
   * registration replaces the first. Without a handler progress is only put on `otaProgress`.
   * Returns the function that removes the handler.
   */
  handleOtaProgress(handler: OtaProgressHandler): () => void;
}

/** Stores one accepted OtaProgress; resolves once it is durable. */
export type OtaProgressHandler = (message: InboxMessage<OtaProgress>) => Promise<void>;
