import type { Lease, LeasePort } from '@outpost/kernel';

/** One process (`--role all`): every lease is always held, with token 1 (ADR 0011). */
export class HeldLeases implements LeasePort {
  readonly #leases = new Map<string, Lease>();

  lease(name: string): Lease {
    let lease = this.#leases.get(name);
    if (lease === undefined) {
      lease = { name, held: () => true, token: () => 1 };
      this.#leases.set(name, lease);
    }
    return lease;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
