/** Tunables of the OTA part: from the configuration (OUTPOST_FIRMWARE_MAX_BYTES, OUTPOST_OTA_MAX_DOWNLOADS, OUTPOST_OTA_DOWNLOAD_BYTES_PER_S), overridable by tests. */
import type { OutpostConfig } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';

export interface OtaOptions {
  /** Largest artifact an upload may carry (bytes). */
  readonly firmwareMaxBytes?: number;
  /** Device downloads streaming at once; more answer 503 with Retry-After. */
  readonly maxDownloads?: number;
  /** Per-device download pace (bytes/s); 0 = unpaced. */
  readonly downloadBytesPerS?: number;
  /** Retry-After (seconds) of a busy refusal. */
  readonly downloadRetryAfterS?: number;
}

export type ResolvedOtaOptions = Required<OtaOptions>;

export const OTA_DEFAULTS: ResolvedOtaOptions = Object.freeze({
  firmwareMaxBytes: 2 * 1024 * 1024 * 1024,
  maxDownloads: 100,
  downloadBytesPerS: 0,
  downloadRetryAfterS: 5,
});

export function resolveOtaOptions(config: OutpostConfig, given: OtaOptions): ResolvedOtaOptions {
  const resolved: ResolvedOtaOptions = {
    firmwareMaxBytes: given.firmwareMaxBytes ?? config.ota?.firmwareMaxBytes ?? OTA_DEFAULTS.firmwareMaxBytes,
    maxDownloads: given.maxDownloads ?? config.ota?.maxDownloads ?? OTA_DEFAULTS.maxDownloads,
    downloadBytesPerS: given.downloadBytesPerS ?? config.ota?.downloadBytesPerS ?? OTA_DEFAULTS.downloadBytesPerS,
    downloadRetryAfterS: given.downloadRetryAfterS ?? OTA_DEFAULTS.downloadRetryAfterS,
  };
  const problems: string[] = [];
  if (!Number.isSafeInteger(resolved.firmwareMaxBytes) || resolved.firmwareMaxBytes < 1) problems.push('firmwareMaxBytes must be a positive integer');
  if (!Number.isSafeInteger(resolved.maxDownloads) || resolved.maxDownloads < 1) problems.push('maxDownloads must be a positive integer');
  if (!Number.isSafeInteger(resolved.downloadBytesPerS) || resolved.downloadBytesPerS < 0) problems.push('downloadBytesPerS must be 0 or a positive integer');
  if (!Number.isSafeInteger(resolved.downloadRetryAfterS) || resolved.downloadRetryAfterS < 1) problems.push('downloadRetryAfterS must be a positive integer');
  if (problems.length > 0) throw new OutpostError('OTA_OPTIONS_INVALID', `invalid OTA options: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}
