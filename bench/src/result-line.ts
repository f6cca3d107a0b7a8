/**
 * The one machine-readable line each bench prints at the end, after its human output, for
 * `run-all` (bench/src/run-all.ts) to collect:
 *
 *   BENCH_RESULT {"bench":"broker","figures":[{"name":"QoS 1 accepted msg/s","value":…,"unit":"msg/s",…}]}
 *
 * A figure carries its anchor (what a user would otherwise pick, measured in the same run — Debian
 * mosquitto, the raw influxd ceiling, a static file server) when there is one, and the goal from
 * the issues as text. `value: null` is a figure the run did not produce.
 */

export const RESULT_PREFIX = 'BENCH_RESULT ';

export interface BenchFigure {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  /** Which way is better: decides nothing here, read by the table's ratio column. */
  readonly better?: 'higher' | 'lower';
  /** The anchor's name (e.g. `mosquitto`) and its figure in the same run. */
  readonly anchor?: string;
  readonly anchorValue?: number | null;
  /** The goal from the issues, as text (e.g. `≥ 0.5× raw influxd`). */
  readonly goal?: string;
}

export interface BenchResult {
  readonly bench: string;
  readonly figures: readonly BenchFigure[];
}

/** A number that JSON can carry: NaN and ±Infinity become null. */
export function finite(value: number | undefined | null): number | null {
  return value === undefined || value === null || !Number.isFinite(value) ? null : value;
}

export function resultLine(result: BenchResult): string {
  const figures = result.figures.map((f) => ({ ...f, value: finite(f.value), ...(f.anchorValue === undefined ? {} : { anchorValue: finite(f.anchorValue) }) }));
  return `${RESULT_PREFIX}${JSON.stringify({ bench: result.bench, figures })}`;
}

export function printResult(result: BenchResult): void {
  console.log(resultLine(result));
}
