import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/domain/identity.js';
import { authenticate } from '../../src/hooks/authenticate.js';
import { IdentityChecker } from '../../src/services/identity-checker.js';
import { SessionRegistry } from '../../src/services/session-registry.js';
import { CountingMetrics, FakeRegistry, FakeSession, recordingLog } from '../services/fakes.js';

function setup() {
  const registry = new FakeRegistry();
  const checker = new IdentityChecker(registry.port(), () => 0, { ttlMs: 60_000, maxEntries: 100 });
  return { registry, checker };
}

describe('authenticate hook', () => {
  const request = (sessions: FakeSession[], peer = { subject: { CN: 'dev-1', O: 'Outpost device' }, serialNumber: '0A' }) => ({
    clientId: 'dev-1',
    clean: true,
    peer,
    remoteAddress: '127.0.0.1',
    open: (identity: Identity) => {
      const session = new FakeSession(identity);
      sessions.push(session);
      return session;
    },
  });

  it('admits an active device and registers its session', async () => {
    const { registry, checker } = setup();
    registry.admit('dev-1', '0a');
    const sessions = new SessionRegistry();
    const opened: FakeSession[] = [];
    const verdict = await authenticate({ identities: checker, sessions, metrics: new CountingMetrics(), log: recordingLog() }, request(opened));
    expect(verdict).toEqual({ ok: true });
    expect(sessions.device('dev-1')).toBe(opened[0]);
  });

  it('checks again when the device changed during the check, and sees the change', async () => {
    const { registry, checker } = setup();
    registry.admit('dev-1', '0a');
    registry.duringCheck = () => {
      registry.duringCheck = undefined;
      registry.answers.set('dev-1/0a', { ok: false, code: 'DEVICE_REVOKED', reason: 'revoked' });
      checker.invalidate('dev-1');
    };
    const metrics = new CountingMetrics();
    const log = recordingLog();
    const verdict = await authenticate({ identities: checker, sessions: new SessionRegistry(), metrics, log }, request([]));
    expect(verdict).toMatchObject({ ok: false, refusal: { reason: 'DEVICE_REVOKED', returnCode: 5 } });
    expect(registry.checks).toBe(2);
    expect(metrics.counts.get('auth:DEVICE_REVOKED')).toBe(1);
    expect(log.lines.some((l) => l.level === 'warn' && l.msg?.startsWith('mqtt connection refused'))).toBe(true);
  });

  it('refuses a connection without a certificate before asking the registry', async () => {
    const { registry, checker } = setup();
    const verdict = await authenticate({ identities: checker, sessions: new SessionRegistry(), metrics: new CountingMetrics(), log: recordingLog() }, { ...request([]), peer: undefined });
    expect(verdict).toMatchObject({ ok: false, refusal: { reason: 'NO_CERTIFICATE' } });
    expect(registry.checks).toBe(0);
  });
});
