/**
 * Singleton work under a lease (ADR 0011): the rollout state machine, webhook deliveries and the
 * server-certificate refresh run on exactly one node of a cluster at a time. The platform provides
 * the leases: in one process (`--role all`) every lease is always held; on cluster nodes a lease
 * lives in the state database (holder, expiry, fencing token) and is renewed every ttl/3.
 */
export interface Lease {
  readonly name: string;
  /** True while this node holds the lease: do the singleton work only then. Cheap (no I/O). */
  held(): boolean;
  /**
   * The fencing token of this node's current holding: it grows each time the lease changes
   * holder, so a write stamped with an older token can be refused. Undefined when not held.
   */
  token(): number | undefined;
}

export interface LeasePort {
  /** The lease named `name` (one name per kind of singleton work); the same object for the same name. */
  lease(name: string): Lease;
}
