export { openOutbox, resolveOutboxOptions, OUTBOX_DEFAULTS } from './open-outbox.js';
export type { FsyncPolicy, Outbox, OutboxEntry, OutboxLog, OutboxOptions, OutboxStats } from './outbox-types.js';
export type { OutboxErrorCode } from './outbox-errors.js';
