import type { Identity } from '../domain/identity.js';

/** A connection the broker let in, as the hooks and services see it (no aedes types). */
export interface LiveSession {
  readonly identity: Identity;
  readonly clientId: string;
  readonly connectedAt: number;
  /**
   * Closes the connection now (no PUBACK for anything pending), logging `reason`; `code` is
   * the `reason` label it is counted under (default `broker`).
   */
  close(reason: string, code?: string): void;
  /** Whether the connection is already closed. */
  readonly closed: boolean;
  /** Why the broker closed it, when it did. */
  readonly closeReason: string | undefined;
  /** The code the broker closed it with (`CERT_EXPIRED`, `DEVICE_REVOKED`, `broker` …), when it did. */
  readonly closeCode: string | undefined;
  /** Whether the client holds a subscription to exactly this topic. */
  isSubscribed(topic: string): boolean;
}
