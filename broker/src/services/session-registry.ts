/**
 * The live sessions of this broker, by device, and live revocation (SPEC "Identity"): a
 * registry event that ends a device's right to connect closes its session at once.
 */
import type { RegistryEvent } from '@outpost/protocol';
import { dropReason } from '../domain/session-drop.js';
import type { LiveSession } from '../ports/live-sessions.js';

export class SessionRegistry {
  readonly #devices = new Map<string, LiveSession>();
  readonly #integrations = new Set<LiveSession>();

  add(session: LiveSession): void {
    const identity = session.identity;
    if (identity.kind === 'integration') this.#integrations.add(session);
    else this.#devices.set(identity.deviceId, session);
  }

  /** Removes the session; true when it was the device's current one (not replaced by a newer). */
  remove(session: LiveSession): boolean {
    const identity = session.identity;
    if (identity.kind === 'integration') return this.#integrations.delete(session);
    if (this.#devices.get(identity.deviceId) !== session) return false;
    this.#devices.delete(identity.deviceId);
    return true;
  }

  device(deviceId: string): LiveSession | undefined {
    return this.#devices.get(deviceId);
  }

  /** Closes the session the event ends, if any; answers it with the reason. */
  apply(event: RegistryEvent): { session: LiveSession; reason: string } | undefined {
    const session = this.#devices.get(event.deviceId);
    if (session === undefined || session.identity.kind !== 'device') return undefined;
    const reason = dropReason(event, { deviceId: session.identity.deviceId, serial: session.identity.serial });
    if (reason === undefined) return undefined;
    session.close(reason);
    return { session, reason };
  }

  counts(): { device: number; integration: number } {
    return { device: this.#devices.size, integration: this.#integrations.size };
  }

  /** Closes every session (shutdown). */
  closeAll(reason: string): void {
    for (const session of [...this.#devices.values(), ...this.#integrations]) session.close(reason);
  }
}
