import type { Command, DesiredConfig, OtaJob, TrustSet } from '@outpost/protocol';

/**
 * Platform → device publishing (SPEC "Composition": provided by the broker as
 * `ports.deviceChannel`). Topics, QoS and retain flags come from protocol's topic table.
 * Each call resolves once the broker has taken the message (retained ones are stored for
 * the next subscription); it never waits for the device.
 */
export interface DeviceChannel {
  /** Retained; also republished from the registry on every reconnect. */
  publishDesiredConfig(deviceId: string, config: DesiredConfig): Promise<void>;
  /**
   * Delivered when the device is subscribed to its commands topic; otherwise held (in
   * memory) and delivered when it subscribes, until `expiresAt`. Registry commands are
   * queued durably by the registry and delivered by the broker itself.
   */
  publishCommand(deviceId: string, command: Command): Promise<void>;
  /** Retained. */
  publishTrustSet(deviceId: string, trust: TrustSet): Promise<void>;
  /** Retained (a cancelled job is a job with `cancel: true`). */
  publishOtaJob(deviceId: string, job: OtaJob): Promise<void>;
  /** Whether the device has a live session on this broker now. */
  isConnected(deviceId: string): boolean;
}
