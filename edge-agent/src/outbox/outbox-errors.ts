import { OutpostError } from '@outpost/protocol';
import type { OutpostErrorOptions } from '@outpost/protocol';

/** The outbox's error codes with their HTTP status (for a CLI or status report). */
const STATUSES = {
  OUTBOX_OPTIONS_INVALID: 400,
  OUTBOX_BATCH_INVALID: 400,
  OUTBOX_BATCH_OPEN: 409,
  OUTBOX_RECORD_TOO_LARGE: 413,
  OUTBOX_LOCKED: 409,
  OUTBOX_CLOSED: 503,
  OUTBOX_IO_UNAVAILABLE: 503,
} as const;

export type OutboxErrorCode = keyof typeof STATUSES;

export function outboxError(code: OutboxErrorCode, message: string, options: Omit<OutpostErrorOptions, 'status'> = {}): OutpostError {
  return new OutpostError(code, message, { ...options, status: STATUSES[code] });
}
