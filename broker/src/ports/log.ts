import type { PartDeps } from '@outpost/kernel';

/** The platform's pino logger as parts receive it: log data first, message second. */
export type Log = PartDeps['log'];
