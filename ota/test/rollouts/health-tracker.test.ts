import { describe, expect, it } from 'vitest';
import { asAlertEvent, HealthTracker } from '../../src/rollouts/services/health-tracker.js';

const rules = { windowMs: 60_000, silenceAfterMs: 10_000, alertSeverities: ['critical' as const] };

describe('the health tracker', () => {
  it('counts a device silent once nothing was heard from it for silenceAfter since it was judged', () => {
    const h = new HealthTracker();
    h.seen('a', 1_000);
    h.seen('b', 15_000);
    expect(h.figures([{ deviceId: 'a', since: 0 }, { deviceId: 'b', since: 0 }, { deviceId: 'c', since: 12_000 }], rules, 20_000)).toMatchObject({ devices: 3, silent: 1 });
  });

  it('counts restarts after the update, not the one the update itself caused', () => {
    const h = new HealthTracker();
    h.uptime('a', 500, 1_000);
    h.uptime('a', 2, 5_000); // the activation restarted the agent; the update finished at 6_000
    expect(h.figures([{ deviceId: 'a', since: 6_000 }], rules, 7_000).restarting).toBe(0);
    h.uptime('a', 30, 30_000);
    h.uptime('a', 1, 31_000); // a crash after the update
    expect(h.figures([{ deviceId: 'a', since: 6_000 }], rules, 32_000).restarting).toBe(1);
    expect(h.figures([{ deviceId: 'a', since: 6_000 }], rules, 100_000).restarting).toBe(0);
  });

  it('counts firing alerts of the chosen severities, and those that fired within the window', () => {
    const h = new HealthTracker();
    const event = (alertId: string, deviceId: string, state: 'firing' | 'resolved', severity: string, at: number) =>
      asAlertEvent({ v: 1, id: `e-${alertId}-${state}`, alertId, ruleId: 'r', deviceId, state, severity, value: 1, ts: at, at, maintenance: false, late: false });
    for (const e of [event('1', 'a', 'firing', 'critical', 1_000), event('2', 'b', 'firing', 'warning', 1_000), event('3', 'c', 'firing', 'critical', 1_000), event('3', 'c', 'resolved', 'critical', 2_000)]) {
      if (e === undefined) throw new Error('not an alert event');
      h.alert(e);
    }
    const judged = ['a', 'b', 'c'].map((deviceId) => ({ deviceId, since: 0 }));
    expect(h.figures(judged, rules, 10_000).alerting).toBe(2);
    expect(h.figures(judged, rules, 120_000).alerting).toBe(1);
    expect(asAlertEvent({ deviceId: 'a' })).toBeUndefined();
  });
});
