import { describe, expect, it } from 'vitest';
import { waitOnline } from '../../src/demo/wait-online.js';

/** A virtual clock: `sleep` moves time on at once. */
function clock(): { now: () => number; sleep: (ms: number) => Promise<void> } {
  let t = 0;
  return { now: () => t, sleep: (ms) => ((t += ms), Promise.resolve()) };
}

describe('waitOnline', () => {
  it('reports each new count at most once a second, and always the last one', async () => {
    const time = clock();
    const counts = [0, 1, 1, 2, 3, 3, 4, 5];
    const reports: string[] = [];
    const online = await waitOnline({
      total: 5,
      timeoutMs: 30_000,
      intervalMs: 500,
      countOnline: () => Promise.resolve(counts.shift() ?? 5),
      report: (n, total) => reports.push(`${n}/${total} @${time.now()}`),
      ...time,
    });
    expect(online).toBe(5);
    expect(reports).toEqual(['0/5 @0', '1/5 @1000', '3/5 @2000', '4/5 @3000', '5/5 @3500']);
  });

  it('gives up at the deadline with the count it has', async () => {
    const time = clock();
    const reports: string[] = [];
    const online = await waitOnline({ total: 3, timeoutMs: 2_000, countOnline: () => Promise.resolve(2), report: (n, total) => reports.push(`${n}/${total}`), ...time });
    expect(online).toBe(2);
    expect(reports).toEqual(['2/3']);
    expect(time.now()).toBe(2_000);
  });

  it('stops when asked', async () => {
    const time = clock();
    let polls = 0;
    const online = await waitOnline({ total: 3, timeoutMs: 60_000, countOnline: () => Promise.resolve(++polls > 2 ? 1 : 0), report: () => undefined, stopped: () => polls >= 4, ...time });
    expect(online).toBe(1);
    expect(polls).toBe(4);
  });
});
