/**
 * The embedded telemetry store's schema (one SQLite file of its own, WAL).
 *
 * - `metric_kinds`: a metric's type, fixed fleet-wide by its first stored value (as InfluxDB
 *   fixes a field's type per measurement).
 * - `series`: one row per (device, metric, tag set); samples refer to it by a small integer.
 * - `samples`: one row per (series, ts), clustered by that key (WITHOUT ROWID), so a chart
 *   query reads one contiguous range per series. `value` has no declared type: REAL for
 *   numbers, 0/1 for booleans, TEXT for strings, read back by the metric's kind.
 * - `rollup_1m`: per series and minute the count, sum, min, max and newest sample, exact for
 *   every query (the touched minutes are recomputed from `samples`, so replaced points never
 *   count twice; see `rollup_dirty`). Queries whose `everyMs` is a multiple of a minute read it for the
 *   whole minutes of their window: 30 days are 43,200 rows per series instead of 2.6 M. An
 *   `everyMs` of 2 minutes or more that is not whole minutes reads it too, all but the minutes
 *   its bucket boundaries cut in two (those come from `samples`).
 * - `rollup_dirty`: the minutes written to since their rollup was last recomputed. A write marks
 *   them in its own transaction; the store recomputes them together about once a second, before
 *   any query, at close, and at open (after a crash) — not on every write: a minute of a 1 Hz
 *   series is touched by every ingest write for a whole minute.
 * - `latest`: per (device, metric) the newest sample, for `latest()` and `metrics()`.
 */
export const ROLLUP_MS = 60_000;

export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_kinds (
  metric TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('number', 'boolean', 'string'))
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  metric TEXT NOT NULL,
  tagset TEXT NOT NULL,
  UNIQUE (device, metric, tagset)
);
CREATE INDEX IF NOT EXISTS series_by_metric ON series (metric, device);
CREATE TABLE IF NOT EXISTS samples (
  series INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  value NOT NULL,
  PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
  series INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  total REAL,
  lo REAL,
  hi REAL,
  last_ts INTEGER NOT NULL,
  last_value NOT NULL,
  PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_dirty (
  series INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
  device TEXT NOT NULL,
  metric TEXT NOT NULL,
  ts INTEGER NOT NULL,
  value NOT NULL,
  PRIMARY KEY (device, metric)
) WITHOUT ROWID;
`;
