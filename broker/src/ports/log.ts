import type { PartDeps } from '@outpost/platform';

/** The platform's pino logger as parts receive it: log data first, message second. */
export type Log = PartDeps['log'];
