/** What the broker counts (issue 4, item 8); the prom-client adapter implements it. */
export interface BrokerMetrics {
  connected(kind: 'device' | 'integration'): void;
  disconnected(kind: 'device' | 'integration', reason: string): void;
  authFailure(reason: string): void;
  aclRefusal(operation: 'publish' | 'subscribe', reason: string): void;
  messageIn(kind: string, bytes: number): void;
  messageOut(bytes: number): void;
  validationFailure(reason: string): void;
  rateLimited(by: 'msgs' | 'bytes', action: 'withheld' | 'disconnected'): void;
  /** One ingest append (spool write including its fsync), in seconds. */
  appendLatency(seconds: number): void;
}
