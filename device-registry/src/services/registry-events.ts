import type { RegistryEvent, RegistryEventType } from '@outpost/protocol';
import { Subject, type Observable } from 'rxjs';

/** The registry event stream of SPEC "Identity" (in process now; the seam for a cluster later). */
export class RegistryEvents {
  readonly #subject = new Subject<RegistryEvent>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get stream(): Observable<RegistryEvent> {
    return this.#subject.asObservable();
  }

  emit(type: RegistryEventType, deviceId: string, extra: { serial?: string; group?: string } = {}): void {
    const event: RegistryEvent = { v: 1, type, deviceId, at: this.#now() };
    if (extra.serial !== undefined) event.serial = extra.serial;
    if (extra.group !== undefined) event.group = extra.group;
    this.#subject.next(event);
  }

  /** `cert-revoked` of a certificate that belongs to no device (an integration credential): no `deviceId`. */
  credentialRevoked(serial: string): void {
    this.#subject.next({ v: 1, type: 'cert-revoked', serial, at: this.#now() });
  }

  /** One `cert-revoked` per serial (SPEC), before the device-level event if any. */
  certsRevoked(deviceId: string, serials: readonly string[]): void {
    for (const serial of serials) this.emit('cert-revoked', deviceId, { serial });
  }

  complete(): void {
    this.#subject.complete();
  }
}
