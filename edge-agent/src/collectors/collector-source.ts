/** What every collector is to the pipeline: something that reads metrics when asked. */
import type { MetricValue } from '@outpost/protocol';

export type Metrics = Record<string, MetricValue>;

export interface CollectorStats {
  /** Problems met while collecting (unreadable sources, bad output, timeouts…), each logged. */
  readonly errors: number;
  readonly lastError?: string;
}

export interface CollectorSource {
  readonly type: 'system' | 'w1' | 'command' | 'simulated';
  readonly intervalMs: number;
  /**
   * Reads once at `now` (epoch ms). Never rejects: a problem is logged, counted in `stats()`,
   * and leaves its metrics out. Synchronous collectors (simulated) return the metrics directly,
   * so a virtual-time scheduler sees them at once.
   */
  collect(now: number): Metrics | Promise<Metrics>;
  stats(): CollectorStats;
  /** Stops what is still running (a command's process). */
  close(): void;
}

export interface CollectorLog {
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface CollectorDeps {
  /** Root of sysfs; default `/sys`. */
  readonly sysRoot?: string;
  /** Root of procfs; default `/proc`. */
  readonly procRoot?: string;
  /** The file system whose use `disk.used_percent` reports; default `/`. */
  readonly diskPath?: string;
  readonly log?: CollectorLog;
}
