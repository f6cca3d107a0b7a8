/**
 * The live sessions of this broker, by device, and live revocation (SPEC "Identity"): a
 * registry event that ends a device's right to connect closes its session at once, and a
 * `cert-revoked` of an integration's serial closes that integration's sessions.
 */
import type { RegistryEvent } from '@outpost/protocol';
import { dropOf, serialDrop, type SessionDrop } from '../domain/session-drop.js';
import type { LiveSession } from '../ports/live-sessions.js';

export interface DroppedSession extends SessionDrop {
  readonly session: LiveSession;
}

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

  /** Closes the sessions the event ends (the device's, integrations' on a revoked serial); answers them with the reasons. */
  apply(event: RegistryEvent): DroppedSession[] {
    const dropped: DroppedSession[] = [];
    const drop = (session: LiveSession, found: SessionDrop | undefined): void => {
      if (found === undefined) return;
      session.close(found.reason, found.code);
      dropped.push({ session, ...found });
    };
    // Typed wide on purpose: a `cert-revoked` of an integration certificate may name no device.
    const deviceId: string | undefined = event.deviceId;
    const session = deviceId === undefined ? undefined : this.#devices.get(deviceId);
    if (session !== undefined && session.identity.kind === 'device') drop(session, dropOf(event, { deviceId: session.identity.deviceId, serial: session.identity.serial }));
    if (event.type === 'cert-revoked') {
      // Integration certificates belong to no device: the serial alone says whose it is.
      for (const integration of [...this.#integrations]) drop(integration, serialDrop(event, integration.identity.serial));
    }
    return dropped;
  }

  /** The devices with a live session here (cluster resync, issue 15). */
  deviceIds(): string[] {
    return [...this.#devices.keys()];
  }

  counts(): { device: number; integration: number } {
    return { device: this.#devices.size, integration: this.#integrations.size };
  }

  /** Closes every session (shutdown). */
  closeAll(reason: string): void {
    for (const session of [...this.#devices.values(), ...this.#integrations]) session.close(reason, 'shutdown');
  }
}
