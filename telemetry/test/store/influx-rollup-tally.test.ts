/**
 * The rollup's minute tallies on their own (influx-rollup-tally.ts): what a write's tallies add
 * once committed, what spoils a minute, how a count(*) answer decides between a tallied row and a
 * recompute, and which writes a recompute may leave a minute to. influx-rollup.test.ts checks the
 * rows against a real influxd.
 */
import { describe, expect, it } from 'vitest';
import { MinuteTallies, tallyRows } from '../../src/adapters/influx-rollup-tally.js';
import type { InfluxQLResult } from '../../src/adapters/influxql.js';
import type { TelemetryPoint } from '../../src/store/telemetry-store.js';

const MINUTE = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE);
const NOW = T0 + 10 * MINUTE;
const KEY_A = 'telemetry,device=dev-a';

function point(ts: number, metrics: TelemetryPoint['metrics'], deviceId = 'dev-a'): TelemetryPoint {
  return { deviceId, ts, metrics };
}

/** A count(*) answer for one series (device dev-a unless given) with `count_<field>` columns. */
function counts(rows: readonly (readonly [number, Record<string, number | null>])[], tags: Record<string, string> = { device: 'dev-a' }): InfluxQLResult {
  const fields = [...new Set(rows.flatMap(([, byField]) => Object.keys(byField)))].sort();
  return {
    statementId: 0,
    series: [{ name: 'telemetry', tags, columns: ['time', ...fields.map((f) => `count_${f}`)], values: rows.map(([time, byField]) => [time, ...fields.map((f) => byField[f] ?? null)]) }],
  };
}

describe('rollup minute tallies', () => {
  it('adds a write to the tallies only once committed, and two writes in either order make one minute', () => {
    const tallies = new MinuteTallies();
    const first = tallies.begin(NOW);
    const second = tallies.begin(NOW);
    first.add(KEY_A, point(T0 + 1_000, { temp: 3 }));
    first.add(KEY_A, point(T0 + 2_000, { temp: -1 }));
    second.add(KEY_A, point(T0 + 3_000, { temp: 7 }));
    expect(tallies.copyRange(T0, T0 + MINUTE, NOW)).toBeUndefined();
    tallies.commit(second, NOW);
    tallies.commit(first, NOW);
    const copied = tallies.copyRange(T0, T0 + MINUTE, NOW);
    if (copied === undefined) throw new Error('no tallies');
    const { lines, recompute } = tallyRows(counts([[T0, { temp: 3 }]]), copied);
    expect(recompute.size).toBe(0);
    expect(lines).toEqual([`telemetry_1m,device=dev-a count_temp=3i,sum_temp=9,min_temp=-1,max_temp=7,last_temp=7 ${String(T0)}`]);
  });

  it('leaves a minute to a recompute when its counts differ, and only the minutes asked about', () => {
    const tallies = new MinuteTallies();
    const write = tallies.begin(NOW);
    write.add(KEY_A, point(T0 + 1_000, { temp: 1, hum: 2 }));
    write.add(KEY_A, point(T0 + MINUTE + 1_000, { temp: 1 }));
    tallies.commit(write, NOW);
    const copied = tallies.copyRange(T0, T0 + 2 * MINUTE, NOW);
    if (copied === undefined) throw new Error('no tallies');
    // InfluxDB holds one more temp in the first minute (a point written before a restart), and a third minute nobody tallied.
    const answer = counts([
      [T0, { temp: 2, hum: 1 }],
      [T0 + MINUTE, { temp: 1 }],
      [T0 + 2 * MINUTE, { temp: 4 }],
    ]);
    const all = tallyRows(answer, copied);
    expect(all.lines).toHaveLength(1);
    expect(all.lines[0]).toMatch(/^telemetry_1m,device=dev-a count_temp=1i,/);
    expect([...(all.recompute.get('dev-a') ?? [])].sort()).toEqual([T0, T0 + 2 * MINUTE]);
    const some = tallyRows(answer, copied, new Map([['dev-a', new Set([T0 + MINUTE])]]));
    expect(some.lines).toHaveLength(1);
    expect(some.recompute.size).toBe(0);
  });

  it('spoils a minute written again, or with a value that is not a number; an older minute after newer ones is tallied', () => {
    const tallies = new MinuteTallies();
    const write = tallies.begin(NOW);
    write.add(KEY_A, point(T0 + 5 * MINUTE, { temp: 1 }));
    // A day-old backlog after live points: another minute, tallied.
    write.add(KEY_A, point(T0 + 1_000, { temp: 1 }));
    write.add(KEY_A, point(T0 + 2_000, { temp: 2 }));
    // Minute 1: a time written twice.
    write.add(KEY_A, point(T0 + MINUTE + 1_000, { temp: 1 }));
    write.add(KEY_A, point(T0 + MINUTE + 1_000, { temp: 5 }));
    // Minute 2: a boolean.
    write.add(KEY_A, point(T0 + 2 * MINUTE + 1_000, { temp: 1, on: true }));
    tallies.commit(write, NOW);
    const copied = tallies.copyRange(T0, T0 + 6 * MINUTE, NOW);
    if (copied === undefined) throw new Error('no tallies');
    const { lines, recompute } = tallyRows(
      counts([
        [T0, { temp: 2 }],
        [T0 + MINUTE, { temp: 1 }],
        [T0 + 2 * MINUTE, { temp: 1, on: 1 }],
        [T0 + 5 * MINUTE, { temp: 1 }],
      ]),
      copied,
    );
    expect(lines.map((line) => line.split(' ')[2])).toEqual([String(T0), String(T0 + 5 * MINUTE)]);
    expect([...(recompute.get('dev-a') ?? [])].sort()).toEqual([T0 + MINUTE, T0 + 2 * MINUTE]);
  });

  it('spoils the minutes of a write InfluxDB did not confirm, for the writes that join them later too, and a refused line', () => {
    const tallies = new MinuteTallies();
    const failed = tallies.begin(NOW);
    failed.add(KEY_A, point(T0 + 1_000, { temp: 1 }));
    tallies.fail(failed, NOW);
    const later = tallies.begin(NOW);
    later.add(KEY_A, point(T0 + 2_000, { temp: 2 }));
    later.add('telemetry,device=dev-b', point(T0 + MINUTE + 1_000, { temp: 2 }, 'dev-b'));
    later.refused('dev-b', T0 + MINUTE + 1_000);
    tallies.commit(later, NOW);
    const copied = tallies.copyRange(T0, T0 + 2 * MINUTE, NOW);
    if (copied === undefined) throw new Error('no tallies');
    const a = tallyRows(counts([[T0, { temp: 1 }]]), copied);
    expect(tallies.size).toBe(2);
    const b = tallyRows(counts([[T0 + MINUTE, { temp: 1 }]], { device: 'dev-b' }), copied);
    expect([...a.lines, ...b.lines]).toEqual([]);
    expect(a.recompute.get('dev-a')).toEqual(new Set([T0]));
    expect(b.recompute.get('dev-b')).toEqual(new Set([T0 + MINUTE]));
  });

  it('leaves a minute whose sum is past the float range to InfluxDB', () => {
    const tallies = new MinuteTallies();
    const write = tallies.begin(NOW);
    write.add(KEY_A, point(T0 + 1_000, { temp: Number.MAX_VALUE }));
    write.add(KEY_A, point(T0 + 2_000, { temp: Number.MAX_VALUE }));
    tallies.commit(write, NOW);
    const copied = tallies.copyRange(T0, T0 + MINUTE, NOW);
    if (copied === undefined) throw new Error('no tallies');
    const { lines, recompute } = tallyRows(counts([[T0, { temp: 2 }]]), copied);
    expect(lines).toEqual([]);
    expect(recompute.get('dev-a')).toEqual(new Set([T0]));
  });

  it('tells which writes under way when tallies were copied, or begun since, write into a minute', () => {
    const tallies = new MinuteTallies();
    const done = tallies.begin(NOW);
    done.add(KEY_A, point(T0 + 1_000, { temp: 1 }));
    tallies.commit(done, NOW);
    const underWay = tallies.begin(NOW);
    underWay.add(KEY_A, point(T0 + MINUTE + 1_000, { temp: 1 }));
    const watch = tallies.watch();
    const since = tallies.begin(NOW);
    since.add('telemetry,device=dev-b', point(T0 + 2 * MINUTE + 1_000, { temp: 1 }, 'dev-b'));
    tallies.commit(since, NOW);
    tallies.commit(underWay, NOW);
    expect(tallies.written('dev-a', T0, watch)).toBe(false);
    expect(tallies.written('dev-a', T0 + MINUTE, watch)).toBe(true);
    expect(tallies.written('dev-b', T0 + 2 * MINUTE, watch)).toBe(true);
    tallies.release(watch);
    // A later watch does not see writes that ended before it.
    const next = tallies.watch();
    expect(tallies.written('dev-b', T0 + 2 * MINUTE, next)).toBe(false);
    tallies.release(next);
  });

  it('drops a tally whose minute is rolled up and that no write joined for 3 minutes, and does not tally points far ahead of the clock', () => {
    const tallies = new MinuteTallies();
    const write = tallies.begin(NOW);
    write.add(KEY_A, point(T0 + 1_000, { temp: 1 }));
    write.add(KEY_A, point(NOW + 30 * MINUTE, { temp: 1 }));
    tallies.commit(write, NOW);
    expect(tallies.size).toBe(1);
    expect(tallies.copyRange(T0 + MINUTE, T0 + 2 * MINUTE, NOW + 2 * MINUTE)).toBeUndefined();
    expect(tallies.size).toBe(1);
    expect(tallies.copyRange(T0 + MINUTE, T0 + 2 * MINUTE, NOW + 4 * MINUTE)).toBeUndefined();
    expect(tallies.size).toBe(0);
  });
});
