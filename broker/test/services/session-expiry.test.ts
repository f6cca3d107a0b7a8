import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/domain/identity.js';
import { MAX_TIMER_MS, SessionExpiry, type Schedule } from '../../src/services/session-expiry.js';
import { FakeSession } from './fakes.js';

/** A scheduler in virtual time: `advance` runs what falls due, in order. */
function virtualTime(start = 1_000_000) {
  let now = start;
  let timers: { at: number; run: () => void }[] = [];
  const schedule: Schedule = (run, ms) => {
    const timer = { at: now + ms, run };
    timers.push(timer);
    return () => {
      timers = timers.filter((t) => t !== timer);
    };
  };
  return {
    now: () => now,
    schedule,
    pending: () => timers.length,
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.run();
      }
      now = until;
    },
  };
}

const device = (notAfter?: number): Identity => ({ kind: 'device', deviceId: 'dev-1', serial: '0a', ...(notAfter === undefined ? {} : { notAfter }) });

describe('SessionExpiry', () => {
  it("closes a live session just after its certificate's notAfter, with code CERT_EXPIRED", () => {
    const time = virtualTime();
    const expired: string[] = [];
    const expiry = new SessionExpiry({ now: time.now, schedule: time.schedule, expired: (_s, reason) => expired.push(reason) });
    const session = new FakeSession(device(time.now() + 5_000));
    expiry.watch(session);
    time.advance(5_000);
    expect(session.closed).toBe(false);
    time.advance(1);
    expect(session.closed).toBe(true);
    expect(session.closeCode).toBe('CERT_EXPIRED');
    expect(session.closeReason).toMatch(/^certificate 0a expired at /);
    expect(expired).toHaveLength(1);
    expect(expiry.size).toBe(0);
  });

  it('closes at once a session whose certificate has already expired', () => {
    const time = virtualTime();
    const expiry = new SessionExpiry({ now: time.now, schedule: time.schedule });
    const session = new FakeSession(device(time.now() - 1));
    expiry.watch(session);
    expect(session.closeCode).toBe('CERT_EXPIRED');
  });

  it('reaches a notAfter beyond the longest timer in steps', () => {
    const time = virtualTime();
    const expiry = new SessionExpiry({ now: time.now, schedule: time.schedule });
    const session = new FakeSession(device(time.now() + 3 * MAX_TIMER_MS));
    expiry.watch(session);
    time.advance(2 * MAX_TIMER_MS);
    expect(session.closed).toBe(false);
    expect(time.pending()).toBe(1);
    time.advance(MAX_TIMER_MS + 1);
    expect(session.closed).toBe(true);
  });

  it('cancels the timer of a session that closed first, and ignores sessions without a known expiry', () => {
    const time = virtualTime();
    const expiry = new SessionExpiry({ now: time.now, schedule: time.schedule });
    const session = new FakeSession(device(time.now() + 1_000));
    expiry.watch(session);
    expiry.watch(new FakeSession(device()));
    expect(time.pending()).toBe(1);
    expiry.forget(session);
    expect(time.pending()).toBe(0);
    time.advance(2_000);
    expect(session.closed).toBe(false);
  });
});
