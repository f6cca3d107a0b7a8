/**
 * The shared domain vocabulary (`@outpost/kernel/domain`): plain value types the parts' domain
 * folders may use. No ports here — a domain folder imports no port (issue 12, lint-enforced).
 */

/** A device's lifecycle state (SPEC "HTTP API": `status`). */
export type DeviceLifecycle = 'active' | 'suspended' | 'revoked' | 'decommissioned';

/** Where a command is in its life (SPEC "HTTP API": commands). */
export type CommandState = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired';

/** What a device answered to a command. */
export interface CommandOutcome {
  readonly ok: boolean;
  readonly output?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly at: number;
}
