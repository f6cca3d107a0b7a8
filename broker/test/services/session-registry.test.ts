import { describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../src/services/session-registry.js';
import { FakeSession } from './fakes.js';

describe('SessionRegistry', () => {
  it('closes the session a registry event ends, with the reason and its code', () => {
    const sessions = new SessionRegistry();
    const session = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
    sessions.add(session);
    expect(sessions.apply({ v: 1, type: 'cert-revoked', deviceId: 'dev-1', serial: '0b', at: 0 })).toEqual([]);
    const dropped = sessions.apply({ v: 1, type: 'cert-revoked', deviceId: 'dev-1', serial: '0A', at: 0 });
    expect(dropped.map((d) => [d.session, d.code, d.reason])).toEqual([[session, 'CERT_REVOKED', 'certificate 0a revoked']]);
    expect(session.closed).toBe(true);
    expect(session.closeCode).toBe('CERT_REVOKED');
  });

  it("drops an integration's sessions when its serial is revoked, and only those", () => {
    const sessions = new SessionRegistry();
    const grafana = new FakeSession({ kind: 'integration', name: 'grafana', role: 'integration', serial: '1c' });
    const grafana2 = new FakeSession({ kind: 'integration', name: 'grafana', role: 'integration', serial: '1c' }, 'integration:grafana-2');
    const other = new FakeSession({ kind: 'integration', name: 'bridge', role: 'integration', serial: '1d' });
    const device = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
    for (const s of [grafana, grafana2, other, device]) sessions.add(s);
    // An integration certificate belongs to no device: whatever device id the event names.
    const dropped = sessions.apply({ v: 1, type: 'cert-revoked', deviceId: 'dev-1', serial: '001C', at: 0 });
    expect(dropped.map((d) => d.session)).toEqual([grafana, grafana2]);
    expect(grafana.closeCode).toBe('CERT_REVOKED');
    expect(other.closed).toBe(false);
    expect(device.closed).toBe(false);
    expect(sessions.apply({ v: 1, type: 'revoked', deviceId: 'bridge', at: 0 })).toEqual([]);
    expect(other.closed).toBe(false);
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
