/** The protocol's default limits in their wire form (before enrollment tells the real ones). */
import { DEFAULT_LIMITS, toWireLimits } from '@outpost/protocol';
import type { Limits } from '@outpost/protocol';

export const DEFAULT_LIMITS_WIRE: Limits = Object.freeze(toWireLimits(DEFAULT_LIMITS));
