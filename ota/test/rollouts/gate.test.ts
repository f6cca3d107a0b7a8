import { describe, expect, it } from 'vitest';
import { evaluateGate, type GateInput, type HealthFigures } from '../../src/rollouts/domain/gate.js';
import type { GateRules } from '../../src/rollouts/domain/rollout-spec.js';

const rules: GateRules = { minFinished: 1, successRatio: 0.8, maxFailureRatio: 0.2, soakMs: 10_000, deviceTimeoutMs: 60_000, action: 'pause' };
const healthRules: GateRules = { ...rules, health: { windowMs: 60_000, silenceAfterMs: 30_000, maxRestarts: 0, alertSeverities: ['critical'], action: 'abort' } };
const fine = (devices: number): HealthFigures => ({ devices, silent: 0, restarting: 0, alerting: 0, rolledBack: 0 });

function gate(input: Partial<GateInput>): ReturnType<typeof evaluateGate> {
  return evaluateGate({ rules, counts: {}, now: 100_000, ...input });
}

describe('a wave gate', () => {
  it('waits until enough devices finished', () => {
    const g = gate({ counts: { succeeded: 3, downloading: 2 } });
    expect(g.status).toBe('waiting');
    expect(g.reason).toBe('3 of 5 device(s) finished, 5 needed');
  });

  it('soaks once the counts are met, then passes when the soak is over', () => {
    const counts = { succeeded: 5 };
    const soaking = gate({ counts });
    expect(soaking).toMatchObject({ status: 'soaking', soakSince: 100_000 });
    expect(gate({ counts, soakSince: 95_000 }).status).toBe('soaking');
    expect(gate({ counts, soakSince: 90_000 }).status).toBe('passed');
  });

  it('breaches at once when failures exceed the ratio, before the wave finished; timeouts and rollbacks are failures', () => {
    const g = gate({ counts: { succeeded: 2, failed: 1, 'timed-out': 1, 'rolled-back': 1, downloading: 5 } });
    expect(g).toMatchObject({ status: 'breached', kind: 'failure-ratio', action: 'pause' });
    expect(g.reason).toContain('3 of 10');
    expect(gate({ counts: { succeeded: 8, failed: 2 } }).status).toBe('soaking');
  });

  it('breaches on a low success ratio among finished devices', () => {
    const g = evaluateGate({ rules: { ...rules, maxFailureRatio: 1, minFinished: 0.5 }, counts: { succeeded: 1, failed: 2, queued: 1 }, now: 0 });
    expect(g).toMatchObject({ status: 'breached', kind: 'success-ratio' });
  });

  it('ignores the count breach when an operator skipped it, but not health', () => {
    expect(gate({ counts: { failed: 5 }, countsOverridden: true }).status).toBe('soaking');
    const sick = evaluateGate({ rules: healthRules, counts: { failed: 5 }, now: 0, countsOverridden: true, health: { updated: { ...fine(2), silent: 1 }, baseline: fine(5) } });
    expect(sick).toMatchObject({ status: 'breached', kind: 'silent', action: 'abort' });
  });

  it.each([
    ['silent', { silent: 1 }, { silent: 0 }, 'silent'],
    ['alerts', { alerting: 2 }, { alerting: 0 }, 'alerts'],
    ['restarts', { restarting: 1 }, { restarting: 0 }, 'restarts'],
  ] as const)('breaches when updated devices are %s more than the baseline', (_n, updated, baseline, kind) => {
    const g = evaluateGate({ rules: healthRules, counts: { succeeded: 2 }, now: 0, health: { updated: { ...fine(2), ...updated }, baseline: { ...fine(4), ...baseline } } });
    expect(g).toMatchObject({ status: 'breached', kind, action: 'abort' });
  });

  it('is not breached when the not-yet-updated devices fare as badly', () => {
    const g = evaluateGate({ rules: healthRules, counts: { succeeded: 2 }, now: 0, health: { updated: { ...fine(2), silent: 1, alerting: 1 }, baseline: { ...fine(4), silent: 2, alerting: 2 } } });
    expect(g.status).toBe('soaking');
  });

  it('breaches on rollbacks above maxRollbacks', () => {
    const r: GateRules = { ...healthRules, maxFailureRatio: 1, health: { windowMs: 60_000, silenceAfterMs: 30_000, maxRestarts: 0, alertSeverities: ['critical'], action: 'abort', maxRollbacks: 0 } };
    const g = evaluateGate({ rules: r, counts: { succeeded: 2, 'rolled-back': 1 }, now: 0, health: { updated: { ...fine(2), rolledBack: 1 }, baseline: fine(3) } });
    expect(g).toMatchObject({ status: 'breached', kind: 'rollbacks' });
  });

  it('does not count cancelled devices in the wave', () => {
    expect(gate({ counts: { succeeded: 4, cancelled: 6 }, soakSince: 0 }).status).toBe('passed');
  });
});
