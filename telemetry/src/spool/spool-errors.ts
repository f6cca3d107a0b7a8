import { OutpostError } from '@outpost/protocol';

/**
 * The spool's coded errors. Codes ending in `_UNAVAILABLE` (and SPOOL_CLOSED) are *temporary*:
 * the broker withholds the PUBACK so the agent keeps the batch and retries (SPEC "MQTT").
 */
export const SPOOL_ERROR_STATUS = {
  /** The spool holds `maxBytes`; an append is refused until consumers catch up. */
  SPOOL_FULL_UNAVAILABLE: 503,
  /** A write or fsync failed; the records of that group commit are not durable. */
  SPOOL_IO_UNAVAILABLE: 503,
  /** The spool is closing or closed. */
  SPOOL_CLOSED: 503,
  /** Bytes in a segment fail their checksum (reported, skipped; never thrown from append). */
  SPOOL_CORRUPT: 500,
  /** Another process (or another open in this one) holds the spool directory. */
  SPOOL_LOCKED: 409,
  /** A record that can never be stored (device id too long, payload larger than the bound). */
  SPOOL_RECORD_INVALID: 400,
  /** A commit beyond the durable end, or not a sequence number. */
  SPOOL_CURSOR_INVALID: 400,
  /** A consumer name that is not in `open({ consumers })`. */
  SPOOL_CONSUMER_NOT_FOUND: 404,
  /** Invalid options of openSpool (all problems listed in `details`). */
  SPOOL_OPTIONS_INVALID: 400,
} as const;

export type SpoolErrorCode = keyof typeof SPOOL_ERROR_STATUS;

export function spoolError(
  code: SpoolErrorCode,
  message: string,
  options: { readonly cause?: unknown; readonly details?: unknown } = {},
): OutpostError {
  return new OutpostError(code, message, { ...options, status: SPOOL_ERROR_STATUS[code] });
}
