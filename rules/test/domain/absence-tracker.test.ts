import { describe, expect, it } from 'vitest';
import { AbsenceTracker } from '../../src/domain/absence-tracker.js';

const timing = { absenceMs: 10, cooldownMs: 0, minStateMs: 0 };

describe('AbsenceTracker', () => {
  it('is due absenceMs after the last arrival and fires once', () => {
    const tracker = new AbsenceTracker(timing, 0);
    tracker.arrive(4, 4);
    expect(tracker.due()).toBe(14);
    expect(tracker.elapse(13)).toBeUndefined();
    expect(tracker.elapse(14)).toEqual({ state: 'firing', ts: 14 });
    expect(tracker.due()).toBeUndefined();
    expect(tracker.elapse(100)).toBeUndefined();
  });

  it('resolves on the next arrival, with its arrival time', () => {
    const tracker = new AbsenceTracker(timing, 0);
    tracker.elapse(10);
    expect(tracker.arrive(30, 29)).toEqual({ state: 'resolved', ts: 29 });
    expect(tracker.firing).toBe(false);
    expect(tracker.due()).toBe(40);
  });

  it('delays the next firing until the cooldown after a resolve', () => {
    const tracker = new AbsenceTracker({ ...timing, cooldownMs: 50 }, 0);
    tracker.elapse(10);
    tracker.arrive(20, 20);
    expect(tracker.due()).toBe(70);
  });

  it('holds a resolve until the firing is minStateMs old', () => {
    const tracker = new AbsenceTracker({ ...timing, minStateMs: 20 }, 0);
    tracker.elapse(10);
    expect(tracker.arrive(15, 15)).toBeUndefined();
    expect(tracker.due()).toBe(30);
    expect(tracker.elapse(30)).toEqual({ state: 'resolved', ts: 15 });
    expect(tracker.due()).toBe(50);
  });
});
