/**
 * The registry's pair check (SPEC "Identity": device active, serial its own and not
 * revoked), cached per (device, serial) and invalidated by registry events, so a reconnect
 * storm does not become a database storm. Each device has a generation that every
 * invalidating event bumps: a check that raced with an event is detectably stale.
 */
import type { RegistryPort } from '@outpost/kernel';
import type { RegistryEvent } from '@outpost/protocol';
import { refusal, type ConnectRefusal } from '../domain/connect-decision.js';
import type { Identity } from '../domain/identity.js';
import { canonicalSerial } from '../domain/serial.js';
import { invalidatesIdentity } from '../domain/session-drop.js';

/**
 * The key whose generation a check of `identity` must see unchanged: the device id, or for
 * an integration its serial (`serial:` cannot start a device id), bumped by `cert-revoked`.
 */
export function generationKey(identity: Identity): string {
  return identity.kind === 'device' ? identity.deviceId : `serial:${identity.serial}`;
}

export interface IdentityCheckerOptions {
  /** How long a cached answer is trusted without an event; events invalidate earlier. */
  readonly ttlMs: number;
  /** Most cached answers; the oldest go first. */
  readonly maxEntries: number;
}

interface Entry {
  readonly answer: ConnectRefusal | undefined;
  readonly at: number;
}

export class IdentityChecker {
  readonly #registry: RegistryPort;
  readonly #now: () => number;
  readonly #options: IdentityCheckerOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #keysOf = new Map<string, Set<string>>();
  readonly #generations = new Map<string, number>();
  #counter = 0;

  constructor(registry: RegistryPort, now: () => number, options: IdentityCheckerOptions) {
    this.#registry = registry;
    this.#now = now;
    this.#options = options;
  }

  /** Changes whenever an event about the device invalidated what the registry said before. */
  generation(deviceId: string): number {
    return this.#generations.get(deviceId) ?? 0;
  }

  /** Follows a registry event: the device's cached answers go, a revoked serial's checks in flight become stale. */
  observe(event: RegistryEvent): void {
    // Typed wide on purpose: a `cert-revoked` of an integration certificate may name no device.
    const deviceId: string | undefined = event.deviceId;
    if (deviceId !== undefined && invalidatesIdentity(event)) this.invalidate(deviceId);
    if (event.type === 'cert-revoked' && event.serial !== undefined) this.invalidate(`serial:${canonicalSerial(event.serial)}`);
  }

  invalidate(deviceId: string): void {
    this.#counter += 1;
    this.#generations.set(deviceId, this.#counter);
    for (const key of this.#keysOf.get(deviceId) ?? []) this.#cache.delete(key);
    this.#keysOf.delete(deviceId);
  }

  get size(): number {
    return this.#cache.size;
  }

  /** undefined: admitted; otherwise why not. Never throws (a registry failure is code 3). */
  async check(identity: Identity): Promise<ConnectRefusal | undefined> {
    try {
      if (identity.kind === 'integration') {
        // Integration certificates raise no registry events: asked every time (they are few).
        return (await this.#registry.isSerialRevoked(identity.serial)) ? refusal('CERT_REVOKED', `certificate ${identity.serial} was revoked`) : undefined;
      }
      const key = `${identity.deviceId}/${identity.serial}`;
      const cached = this.#cache.get(key);
      if (cached !== undefined && this.#now() - cached.at < this.#options.ttlMs) return cached.answer;
      const generation = this.generation(identity.deviceId);
      const checked = await this.#registry.checkCertificate(identity.deviceId, identity.serial);
      const answer = checked.ok ? undefined : refusal(checked.code, checked.reason);
      if (this.generation(identity.deviceId) === generation) this.#remember(identity.deviceId, key, answer);
      return answer;
    } catch (err) {
      return refusal('REGISTRY_UNAVAILABLE', `the registry could not be asked: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #remember(deviceId: string, key: string, answer: ConnectRefusal | undefined): void {
    this.#cache.delete(key);
    this.#cache.set(key, { answer, at: this.#now() });
    let keys = this.#keysOf.get(deviceId);
    if (keys === undefined) this.#keysOf.set(deviceId, (keys = new Set()));
    keys.add(key);
    while (this.#cache.size > this.#options.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
      const device = oldest.slice(0, oldest.indexOf('/'));
      this.#keysOf.get(device)?.delete(oldest);
    }
  }
}
