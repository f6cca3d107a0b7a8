/**
 * Keeps the rollup of the InfluxDB 1.x store (`telemetry_1m` from raw points, `telemetry_10m`
 * and `telemetry_1h` from those minutes; see influx-rollup-queries.ts) complete below a watermark, so a 30-day
 * chart of a 1 Hz series reads 720 hourly, 4,320 10-minute or 43,200 minute rows instead of 2.6 M points. Why
 * the adapter keeps it and not a continuous query: docs/adr (InfluxDB rollup).
 *
 * - The watermark `coveredTo` (minute-aligned epoch ms): every whole minute before it is rolled
 *   up. It is stored in InfluxDB (`telemetry_rollup`) after each step and read at open, so a
 *   restart resumes where the last process stopped. With no watermark yet, the first passes
 *   backfill from the oldest raw point, an hour of minutes per statement.
 * - A periodic pass (every `intervalMs`) moves the watermark up to the minute `settleMs` ago:
 *   `SELECT count(*), sum(*), min(*), max(*), last(*) INTO telemetry_1m … GROUP BY time(1m), *`
 *   recomputes those minutes from the raw points, server side, then the 10 minutes and hours it
 *   completed from their minutes. Those before the watermark's are complete.
 * - Late points (a time below the watermark: a replayed spool, an agent's backlog): once a write
 *   has stored them, their minutes join the late recompute waiting in the queue — the touched
 *   minutes of the touched devices are recomputed from raw, then their complete 10 minutes and
 *   hours. The write resolves without waiting for it; `settle()` (the store's `sync()`, which
 *   ingest awaits before it moves the spool's cursor) resolves once every late minute noted so
 *   far is recomputed. Until then charts over those minutes read raw points. A crash before the
 *   recompute loses nothing: the cursor did not move, the spool replays the records, and a replay
 *   recomputes the same minutes to the same rows.
 * - Every recompute runs in one queue, in order, and a write checks the watermark only after
 *   its raw points are stored. So the last recompute of a minute always reads every point whose
 *   write checked before it ran, and no older answer overwrites a newer one.
 * - Late writes share recomputes: a write's minutes join the late recompute waiting in the queue
 *   (not yet started) instead of queueing their own, so a backlog drained by many writes
 *   recomputes a minute about once per queue turn, and ingest keeps writing raw points while a
 *   recompute runs (before, every late write waited for its own recompute, 0.3–1 s each on
 *   influxd 1.6.7, with three writes in flight: the ingest bench's day-old points took 2.5× as
 *   long to land as live ones).
 */
import { OutpostError } from '@outpost/protocol';
import { TELEMETRY_STORE_UNAVAILABLE } from '../store/store-errors.js';
import type { AggregateFn, TelemetryRollupStats } from '../store/telemetry-store.js';
import type { LineKeys } from './influx-batch.js';
import type { InfluxQLResult } from './influxql.js';
import type { Statement } from './influx-queries.js';
import { MinuteTallies, tallyRows, type TalliedRange, type TallyWatch, type TallyWrite } from './influx-rollup-tally.js';
import {
  COARSE_TIERS,
  countStatement,
  joinStatements,
  MINUTE_MS,
  oldestRawStatement,
  rollupIntoStatement,
  TIER_MS,
  watermarkLine,
  watermarkStatement,
  type RollupTarget,
  type Segment,
} from './influx-rollup-queries.js';

export interface InfluxRollupOptions {
  /** How often the periodic pass runs (default 60 s). */
  readonly intervalMs?: number;
  /** How long after a minute ends the periodic pass rolls it up (default 2 min); points later than that are rolled up by their write. */
  readonly settleMs?: number;
  /** Chart queries whose rolled-up whole minutes span at least this read the rollup (default 1 h); shorter ones read raw points. */
  readonly minRangeMs?: number;
  /** Most minutes one periodic or backfill statement recomputes (default 1 h; halved after a failed step, down to a minute). */
  readonly chunkMs?: number;
}

export interface InfluxRollupDeps {
  readonly target: RollupTarget;
  /** Runs statements on the store's database; rejects with the store's coded errors. */
  readonly query: (statement: Statement) => Promise<InfluxQLResult[]>;
  /** Writes line protocol to the store's database and retention policy. */
  readonly post: (body: string) => Promise<void>;
  /** Resolves once the store's writes in flight now have settled (their tallies join before a pass or recompute counts). */
  readonly writesInFlight?: () => Promise<unknown>;
  readonly now: () => number;
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

/** The rollup's state: the store's stats carry its counters (TelemetryRollupStats), this the rest. */
export interface RollupStatus extends TelemetryRollupStats {
  /** How the watermark was first known: read back, from the oldest raw point (a backfill), or an empty database. */
  readonly startedFrom: 'watermark' | 'oldest-point' | 'empty' | undefined;
  /** Periodic and backfill statements run. */
  readonly passes: number;
  /** Writes whose late points were rolled up by the write itself. */
  readonly lateWrites: number;
  /** Why the rollup is off (InfluxDB refused to read the watermark), if it is. */
  readonly disabled: string | undefined;
}

/** Late minutes of one device closer than this are recomputed as one range. */
const MERGE_GAP_MS = 10 * MINUTE_MS;
/** Statements per recompute request, and devices per statement. */
const STATEMENTS_PER_REQUEST = 50;
const DEVICES_PER_STATEMENT = 200;
/** Tallied minute rows per write. */
const LINES_PER_POST = 5_000;

export function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

function floorTo(ms: number, size: number): number {
  return Math.floor(ms / size) * size;
}

export class InfluxRollup {
  readonly #deps: InfluxRollupDeps;
  readonly #intervalMs: number;
  readonly #settleMs: number;
  readonly #minRangeMs: number;
  readonly #chunkMs: number;
  /** The current step: halved after a failed one (a statement too large for the deadline), doubled back after a success. */
  #stepMs: number;
  #coveredTo: number | undefined;
  /** The end of the step running or last run: a write with points below it recomputes them itself. */
  #claimed = Number.NEGATIVE_INFINITY;
  #queue: Promise<unknown> = Promise.resolve();
  /** The late recompute queued and not started yet: later late writes add their minutes to it. */
  #pendingLate: LateBatch | undefined;
  /** The late recompute running. */
  #runningLate: LateBatch | undefined;
  /** Minutes whose recompute failed (InfluxDB unreachable): queued again by the next settle(). */
  #failedLate: LateMinutes | undefined;
  #loading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;
  #startedFrom: RollupStatus['startedFrom'];
  #passes = 0;
  #lateWrites = 0;
  #lateRecomputes = 0;
  #talliedMinutes = 0;
  #recountedMinutes = 0;
  #deferredMinutes = 0;
  /** The written points' minutes, tallied per write (influx-rollup-tally.ts). */
  readonly #tallies = new MinuteTallies();
  #disabled: string | undefined;

  constructor(deps: InfluxRollupDeps, options: InfluxRollupOptions = {}) {
    this.#deps = deps;
    this.#intervalMs = positive(options.intervalMs ?? 60_000, 'intervalMs');
    this.#settleMs = nonNegative(options.settleMs ?? 120_000, 'settleMs');
    this.#minRangeMs = nonNegative(options.minRangeMs ?? 3_600_000, 'minRangeMs');
    this.#chunkMs = Math.max(MINUTE_MS, floorMinute(positive(options.chunkMs ?? 3_600_000, 'chunkMs')));
    this.#stepMs = this.#chunkMs;
  }

  status(): RollupStatus {
    return {
      coveredTo: this.#coveredTo,
      startedFrom: this.#startedFrom,
      passes: this.#passes,
      lateWrites: this.#lateWrites,
      lateRecomputes: this.#lateRecomputes,
      talliedMinutes: this.#talliedMinutes,
      recountedMinutes: this.#recountedMinutes,
      deferredMinutes: this.#deferredMinutes,
      disabled: this.#disabled,
    };
  }

  /**
   * Reads the watermark (once; again after InfluxDB was unreachable, which rejects). A refusal
   * (e.g. no read rights) turns the rollup off for this process: queries read raw points.
   */
  load(): Promise<void> {
    if (this.#coveredTo !== undefined || this.#disabled !== undefined) return Promise.resolve();
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    try {
      const [marker] = await this.#deps.query(watermarkStatement());
      const stored = marker?.series[0]?.values[0]?.[1];
      if (typeof stored === 'number' && Number.isSafeInteger(stored)) {
        this.#startedFrom = 'watermark';
        this.#coveredTo = floorMinute(stored);
      } else {
        const [oldest] = await this.#deps.query(oldestRawStatement());
        const first = oldest?.series[0]?.values[0]?.[0];
        this.#startedFrom = typeof first === 'number' ? 'oldest-point' : 'empty';
        this.#coveredTo = typeof first === 'number' ? floorMinute(first) : this.#horizon();
      }
      this.#deps.log?.info({ coveredTo: new Date(this.#coveredTo).toISOString(), from: this.#startedFrom }, 'InfluxDB rollup: watermark read');
    } catch (error) {
      if (error instanceof OutpostError && error.code === TELEMETRY_STORE_UNAVAILABLE) throw error;
      this.#disabled = (error as Error).message;
      this.#deps.log?.error({ err: this.#disabled }, 'InfluxDB rollup: cannot read its watermark; charts read raw points');
    }
  }

  /** Starts the periodic pass (idempotent); the first one runs now. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  #tick(): void {
    if (this.#refreshing !== undefined || this.#closed) return;
    this.#refreshing = this.refresh()
      .catch((error: unknown) => {
        this.#deps.log?.warn({ err: (error as Error).message }, 'InfluxDB rollup: pass failed; retried at the next interval');
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
  }

  /** Rolls up every whole minute up to `settleMs` ago, a chunk per statement. */
  async refresh(): Promise<void> {
    await this.load();
    const horizon = this.#horizon();
    // Each step reads the watermark when it runs: a rewind queued before it moves it back.
    const step = async (): Promise<boolean> => {
      const from = this.#coveredTo;
      if (this.#closed || this.#disabled !== undefined || from === undefined || from >= horizon) return false;
      const to = Math.min(horizon, from + this.#stepMs);
      this.#claimed = Math.max(this.#claimed, to);
      try {
        if (!(await this.#rollUpTallied(from, to))) await this.#deps.query(rollupIntoStatement('minute', this.#deps.target, from, to));
        // The 10 minutes and hours this step completed (the one holding `from` may have had minutes before).
        for (const tier of COARSE_TIERS) {
          const size = TIER_MS[tier];
          if (floorTo(from, size) < floorTo(to, size)) await this.#deps.query(rollupIntoStatement(tier, this.#deps.target, floorTo(from, size), floorTo(to, size)));
        }
        await this.#deps.post(watermarkLine(to, Math.floor(this.#deps.now())));
      } catch (error) {
        this.#stepMs = Math.max(MINUTE_MS, floorMinute(this.#stepMs / 2));
        throw error;
      }
      this.#stepMs = Math.min(this.#chunkMs, this.#stepMs * 2);
      this.#passes += 1;
      this.#coveredTo = to;
      return true;
    };
    while (await this.#enqueue(step));
  }

  /**
   * The minutes of [from, to) from their tallies where one `count(*)` pass shows a tally holds
   * InfluxDB's points; the others (and their devices' other series) recomputed from raw points.
   * False when no minute of the range has a tally (the whole range is recomputed).
   */
  async #rollUpTallied(from: number, to: number): Promise<boolean> {
    await this.#deps.writesInFlight?.();
    const tallied = this.#tallies.copyRange(from, to, this.#deps.now());
    if (tallied === undefined) return false;
    const recompute = await this.#fromTallies(tallied, [countStatement(this.#deps.target, from, to)]);
    const statements = minuteStatements(this.#deps.target, recompute);
    for (let start = 0; start < statements.length; start += STATEMENTS_PER_REQUEST) {
      await this.#deps.query(joinStatements(statements.slice(start, start + STATEMENTS_PER_REQUEST)));
    }
    return true;
  }

  /**
   * Writes the minute rows of the tallies (copied before) that `counts` (count(*) statements)
   * show hold InfluxDB's points; resolves with the other device-minutes with points (of `only`,
   * when given), to recompute from raw points — but those a write under way when the tallies were
   * copied, or begun since, writes into: that write is late for them and has them recomputed when it lands.
   */
  async #fromTallies(tallied: TalliedRange, counts: readonly Statement[], only?: ReadonlyMap<string, ReadonlySet<number>>): Promise<Map<string, Set<number>>> {
    const watch = this.#tallies.watch();
    try {
      return await this.#rowsFromTallies(tallied, watch, counts, only);
    } finally {
      this.#tallies.release(watch);
    }
  }

  async #rowsFromTallies(tallied: TalliedRange, watch: TallyWatch, counts: readonly Statement[], only: ReadonlyMap<string, ReadonlySet<number>> | undefined): Promise<Map<string, Set<number>>> {
    const lines: string[] = [];
    const recompute = new Map<string, Set<number>>();
    for (let start = 0; start < counts.length; start += STATEMENTS_PER_REQUEST) {
      for (const result of await this.#deps.query(joinStatements(counts.slice(start, start + STATEMENTS_PER_REQUEST)))) {
        const rows = tallyRows(result, tallied, only);
        for (const line of rows.lines) lines.push(line);
        for (const [deviceId, minutes] of rows.recompute) {
          for (const minute of minutes) {
            if (this.#tallies.written(deviceId, minute, watch)) {
              this.#deferredMinutes += 1;
              continue;
            }
            let set = recompute.get(deviceId);
            if (set === undefined) recompute.set(deviceId, (set = new Set()));
            set.add(minute);
          }
        }
      }
    }
    for (let start = 0; start < lines.length; start += LINES_PER_POST) await this.#deps.post(lines.slice(start, start + LINES_PER_POST).join('\n'));
    this.#talliedMinutes += lines.length;
    for (const minutes of recompute.values()) this.#recountedMinutes += minutes.size;
    return recompute;
  }

  /** A write about to encode its points: it tallies them (influx-rollup-tally.ts); undefined while the rollup is off. */
  beginWrite(): TallyWrite | undefined {
    if (this.#closed || this.#disabled !== undefined || this.#coveredTo === undefined) return undefined;
    return this.#tallies.begin(this.#deps.now());
  }

  /**
   * The write ended: confirmed by InfluxDB (`lines`, and the indexes it refused), its tallies join
   * the rollup's; not confirmed, its minutes are spoiled. Called before afterWrite.
   */
  endWrite(write: TallyWrite, confirmed: { readonly lines: LineKeys; readonly refused: ReadonlySet<number> } | undefined): void {
    const now = this.#deps.now();
    if (confirmed === undefined) {
      // A recompute may have left these minutes to this write (see #fromTallies): it will not note
      // them now, so they are noted here (some of its lines may be in InfluxDB).
      if (!this.#closed && this.#coveredTo !== undefined) {
        const claimed = Math.max(this.#claimed, this.#coveredTo);
        let batch: LateBatch | undefined;
        for (const [deviceId, minutes] of write.minutes) {
          for (const minute of minutes) {
            if (minute >= claimed) continue;
            batch ??= this.#pendingLate ?? this.#newLateBatch();
            addMinute(batch, deviceId, minute);
          }
        }
      }
      this.#tallies.fail(write, now);
      return;
    }
    const { lines, refused } = confirmed;
    for (const index of refused) write.refused(lines.deviceIds[index] ?? '', lines.ts[index] ?? 0);
    this.#tallies.commit(write, now);
  }


  /**
   * After lines are stored (their devices and times; `skip`: indexes InfluxDB refused): the
   * minutes of those below the watermark (or the step running) join the late recompute waiting in the queue. Does not wait for it (settle() does). Rejects
   * only when the watermark cannot be read (InfluxDB unreachable; the caller retries the write).
   */
  async afterWrite(lines: LineKeys, skip?: ReadonlySet<number>): Promise<void> {
    const { deviceIds, ts } = lines;
    if (this.#closed || ts.length === 0) return;
    await this.load();
    if (this.#disabled !== undefined || this.#coveredTo === undefined) return;
    // From here to joining the batch nothing awaits: the check and the place in the queue go together.
    const claimed = Math.max(this.#claimed, this.#coveredTo);
    let batch: LateBatch | undefined;
    for (let index = 0; index < ts.length; index += 1) {
      const at = ts[index] ?? claimed;
      if (at >= claimed || skip?.has(index) === true) continue;
      batch ??= this.#pendingLate ?? this.#newLateBatch();
      addMinute(batch, deviceIds[index] ?? '', floorMinute(at));
    }
    if (batch !== undefined) this.#lateWrites += 1;
  }

  /**
   * Resolves once every late minute noted so far is in the rollup; rejects while InfluxDB cannot
   * recompute them (the minutes stay noted, and the next call queues them again).
   */
  async settle(): Promise<void> {
    const failed = this.#failedLate;
    if (failed !== undefined && !this.#closed) {
      this.#failedLate = undefined;
      const batch = this.#pendingLate ?? this.#newLateBatch();
      for (const [deviceId, minutes] of failed.minutes) for (const minute of minutes) addMinute(batch, deviceId, minute);
    }
    await Promise.all([this.#pendingLate?.done, this.#runningLate?.done]);
  }

  /** A late batch in the queue, open to later late writes until it starts. */
  #newLateBatch(): LateBatch {
    const batch: LateBatch = { minutes: new Map(), earliest: Number.POSITIVE_INFINITY, latest: Number.NEGATIVE_INFINITY, done: Promise.resolve() };
    batch.done = this.#enqueue(() => this.#recomputeLate(batch));
    // settle() reports a failure; nobody else has to wait for it.
    batch.done.catch(() => undefined);
    this.#pendingLate = batch;
    return batch;
  }

  /** Runs a late batch: no write joins it from here on; its coarse tiers go up to the watermark claimed now. */
  async #recomputeLate(batch: LateBatch): Promise<void> {
    if (this.#pendingLate === batch) this.#pendingLate = undefined;
    this.#runningLate = batch;
    this.#lateRecomputes += 1;
    const claimed = Math.max(this.#claimed, this.#coveredTo ?? Number.NEGATIVE_INFINITY);
    try {
      const { target } = this.#deps;
      // The writes in flight now may hold points of these minutes: their tallies join first.
      await this.#deps.writesInFlight?.();
      const tallied = this.#tallies.copyMinutes(batch.minutes);
      const recompute =
        tallied === undefined
          ? batch.minutes
          : await this.#fromTallies(tallied, perRun(runsOf(batch.minutes), (from, to, devices, index) => countStatement(target, from, to, devices, index)), batch.minutes);
      const statements = lateStatements(target, recompute, batch.minutes, claimed);
      for (let start = 0; start < statements.length; start += STATEMENTS_PER_REQUEST) {
        await this.#deps.query(joinStatements(statements.slice(start, start + STATEMENTS_PER_REQUEST)));
      }
    } catch (error) {
      let failure = error;
      if (!(error instanceof OutpostError && error.code === TELEMETRY_STORE_UNAVAILABLE)) {
        try {
          await this.#rewind(batch.earliest, error);
          return;
        } catch (rewindError) {
          // The lower watermark could not be stored: the minutes stay noted and are tried again.
          failure = rewindError;
        }
      }
      this.#failedLate ??= { minutes: new Map(), earliest: Number.POSITIVE_INFINITY, latest: Number.NEGATIVE_INFINITY };
      for (const [deviceId, minutes] of batch.minutes) for (const minute of minutes) addMinute(this.#failedLate, deviceId, minute);
      throw failure;
    } finally {
      if (this.#runningLate === batch) this.#runningLate = undefined;
    }
  }

  /** Whether a late minute in [from, to) is not in the rollup yet (noted, queued, running or failed). */
  #lateIn(from: number, to: number): boolean {
    return [this.#pendingLate, this.#runningLate, this.#failedLate].some((late) => late !== undefined && late.earliest < to && late.latest + MINUTE_MS > from);
  }

  /**
   * InfluxDB refused a recompute (a statement error, not an outage): the raw points are stored,
   * so the write stands, and the watermark moves back to before them — charts read those minutes
   * from raw points, and the periodic pass redoes them. Rejects (the write is retried) only when
   * the lower watermark cannot be stored.
   */
  async #rewind(to: number, error: unknown): Promise<void> {
    const coveredTo = Math.min(this.#coveredTo ?? to, floorMinute(to));
    this.#deps.log?.error(
      { err: (error as Error).message, coveredTo: new Date(coveredTo).toISOString() },
      'InfluxDB rollup: recomputing late minutes was refused; the watermark moves back before them',
    );
    await this.#deps.post(watermarkLine(coveredTo, Math.floor(this.#deps.now())));
    this.#coveredTo = coveredTo;
  }

  /**
   * The segments a chart query reads, in time order: raw points before the first whole minute,
   * the rollup for the whole minutes below the watermark — the hour (or 10-minute) rollup for its
   * whole hours (10 minutes) when `everyMs` is whole hours (10 minutes) — and raw points after.
   * Undefined when the rollup does not apply (off, `everyMs` not whole minutes, or too few
   * rolled-up minutes in range).
   */
  segments(query: { from: number; to: number; everyMs: number; fn: AggregateFn }): Segment[] | undefined {
    if (this.#closed || this.#disabled !== undefined || this.#coveredTo === undefined) return undefined;
    if (query.everyMs % MINUTE_MS !== 0) return undefined;
    // Late points whose minutes are not recomputed yet: raw points answer until they are.
    if (this.#lateIn(query.from, query.to)) return undefined;
    const minutesFrom = Math.ceil(query.from / MINUTE_MS) * MINUTE_MS;
    const minutesTo = Math.min(floorMinute(query.to), this.#coveredTo);
    if (minutesTo - minutesFrom < Math.max(MINUTE_MS, this.#minRangeMs)) return undefined;
    const coarse = COARSE_TIERS.find((tier) => query.everyMs % TIER_MS[tier] === 0);
    const size = coarse === undefined ? 0 : TIER_MS[coarse];
    const coarseFrom = coarse === undefined ? 0 : Math.ceil(minutesFrom / size) * size;
    const coarseTo = coarse === undefined ? 0 : floorTo(minutesTo, size);
    const parts: Segment[] = [
      { source: 'raw', from: query.from, to: minutesFrom },
      ...(coarse !== undefined && coarseFrom < coarseTo
        ? [
            { source: 'minute' as const, from: minutesFrom, to: coarseFrom },
            { source: coarse, from: coarseFrom, to: coarseTo },
            { source: 'minute' as const, from: coarseTo, to: minutesTo },
          ]
        : [{ source: 'minute' as const, from: minutesFrom, to: minutesTo }]),
      { source: 'raw', from: minutesTo, to: query.to },
    ];
    return parts.filter((segment) => segment.from < segment.to);
  }

  /** Stops the periodic pass and waits for the recomputes queued. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#refreshing;
    await this.#queue.catch(() => undefined);
  }

  #horizon(): number {
    return floorMinute(this.#deps.now() - this.#settleMs);
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job, job);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Late minutes by device, and the span they cover. */
interface LateMinutes {
  readonly minutes: Map<string, Set<number>>;
  earliest: number;
  latest: number;
}

/** Late minutes waiting for their recompute, and that recompute's place in the queue. */
interface LateBatch extends LateMinutes {
  done: Promise<void>;
}

function addMinute(late: LateMinutes, deviceId: string, minute: number): void {
  let set = late.minutes.get(deviceId);
  if (set === undefined) late.minutes.set(deviceId, (set = new Set()));
  set.add(minute);
  if (minute < late.earliest) late.earliest = minute;
  if (minute > late.latest) late.latest = minute;
}

interface MinuteRun {
  readonly from: number;
  readonly to: number;
  readonly devices: string[];
}

/** Per device, runs of minutes (gaps under MERGE_GAP_MS joined); devices with the same run share it. */
function runsOf(minutes: ReadonlyMap<string, ReadonlySet<number>>): MinuteRun[] {
  const byRange = new Map<string, MinuteRun>();
  for (const [deviceId, set] of minutes) {
    const sorted = [...set].sort((a, b) => a - b);
    let from = sorted[0] ?? 0;
    let to = from + MINUTE_MS;
    const flush = (): void => {
      const key = `${from}:${to}`;
      const range = byRange.get(key);
      if (range === undefined) byRange.set(key, { from, to, devices: [deviceId] });
      else range.devices.push(deviceId);
    };
    for (const minute of sorted.slice(1)) {
      if (minute - to <= MERGE_GAP_MS) {
        to = minute + MINUTE_MS;
        continue;
      }
      flush();
      from = minute;
      to = minute + MINUTE_MS;
    }
    flush();
  }
  return [...byRange.values()];
}

/** One statement per run and DEVICES_PER_STATEMENT devices, parameters named apart per request of STATEMENTS_PER_REQUEST. */
function perRun(runs: readonly MinuteRun[], statement: (from: number, to: number, devices: readonly string[], index: number) => Statement, statements: Statement[] = []): Statement[] {
  for (const run of runs) {
    for (let start = 0; start < run.devices.length; start += DEVICES_PER_STATEMENT) {
      statements.push(statement(run.from, run.to, run.devices.slice(start, start + DEVICES_PER_STATEMENT), statements.length % STATEMENTS_PER_REQUEST));
    }
  }
  return statements;
}

/** Recomputes `minutes` (by device) from raw points. */
function minuteStatements(target: RollupTarget, minutes: ReadonlyMap<string, ReadonlySet<number>>): Statement[] {
  return perRun(runsOf(minutes), (from, to, devices, index) => rollupIntoStatement('minute', target, from, to, devices, index));
}

/**
 * Recomputes `minutes` (by device) from raw points, then the 10 minutes and hours holding
 * `coarse`'s minutes that are complete (before `claimed`'s; a later periodic step computes the
 * others).
 */
function lateStatements(target: RollupTarget, minutes: ReadonlyMap<string, ReadonlySet<number>>, coarse: ReadonlyMap<string, ReadonlySet<number>>, claimed: number): Statement[] {
  const statements = minuteStatements(target, minutes);
  const coarseRuns = runsOf(coarse);
  for (const tier of COARSE_TIERS) {
    const size = TIER_MS[tier];
    const runs = coarseRuns.flatMap((run) => {
      const to = Math.min(Math.ceil(run.to / size) * size, floorTo(claimed, size));
      const from = floorTo(run.from, size);
      return from < to ? [{ from, to, devices: run.devices }] : [];
    });
    perRun(runs, (from, to, devices, index) => rollupIntoStatement(tier, target, from, to, devices, index), statements);
  }
  return statements;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new OutpostError('VALIDATION_FAILED', `rollup ${name} must be a positive number of milliseconds`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new OutpostError('VALIDATION_FAILED', `rollup ${name} must be zero or a positive number of milliseconds`);
  return value;
}
