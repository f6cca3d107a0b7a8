/** What the query routes report for `/metrics`; a no-op until the platform hands over its registry. */
export interface QueryMetrics {
  /** One answered request of `route` (its URL pattern) with its HTTP status. */
  answered(route: string, status: number): void;
  /** Time the store took to answer one query (`range`, `fleet`, `latest`, `metrics`). */
  storeLatency(query: string, seconds: number): void;
  /** Points (or metrics) one answer of `route` carried. */
  points(route: string, count: number): void;
}

export const NO_QUERY_METRICS: QueryMetrics = {
  answered: () => {},
  storeLatency: () => {},
  points: () => {},
};
