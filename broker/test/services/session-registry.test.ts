import { describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../src/services/session-registry.js';
import { FakeSession } from './fakes.js';

describe('SessionRegistry', () => {
  it('closes the session a registry event ends, with the reason', () => {
    const sessions = new SessionRegistry();
    const session = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
    sessions.add(session);
    expect(sessions.apply({ v: 1, type: 'cert-revoked', deviceId: 'dev-1', serial: '0b', at: 0 })).toBeUndefined();
    expect(sessions.apply({ v: 1, type: 'cert-revoked', deviceId: 'dev-1', serial: '0A', at: 0 })?.reason).toBe('certificate 0a revoked');
    expect(session.closed).toBe(true);
  });

  it('forgets a replaced session without touching its successor', () => {
    const sessions = new SessionRegistry();
    const first = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
    const second = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0b' });
    sessions.add(first);
    sessions.add(second);
    expect(sessions.remove(first)).toBe(false);
    expect(sessions.device('dev-1')).toBe(second);
    expect(sessions.remove(second)).toBe(true);
    expect(sessions.counts()).toEqual({ device: 0, integration: 0 });
  });
});
