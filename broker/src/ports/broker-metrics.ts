/** What the broker counts (issue 4, item 8); the prom-client adapter implements it. */
export interface BrokerMetrics {
  connected(kind: 'device' | 'integration'): void;
  disconnected(kind: 'device' | 'integration', reason: string): void;
  authFailure(reason: string): void;
  /** A socket destroyed on accept: too many TLS handshakes pending from its address (`ip`) or in all (`total`). */
  handshakeRefused(scope: 'ip' | 'total'): void;
  /** A connection dropped because a packet declared more than the packet size limit (or a malformed length). */
  packetRefused(code: 'PACKET_TOO_LARGE' | 'PACKET_MALFORMED'): void;
  aclRefusal(operation: 'publish' | 'subscribe', reason: string): void;
  messageIn(kind: string, bytes: number): void;
  messageOut(bytes: number): void;
  validationFailure(reason: string): void;
  rateLimited(by: 'msgs' | 'bytes', action: 'withheld' | 'disconnected'): void;
  /** One ingest append (spool write including its fsync), in seconds. */
  appendLatency(seconds: number): void;
}
