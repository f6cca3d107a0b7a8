import { describe, expect, it } from 'vitest';
import { generationKey, IdentityChecker } from '../../src/services/identity-checker.js';
import type { Identity } from '../../src/domain/identity.js';
import { FakeRegistry } from './fakes.js';

const device: Identity = { kind: 'device', deviceId: 'dev-1', serial: '0a' };

function setup(ttlMs = 60_000) {
  const registry = new FakeRegistry();
  let now = 0;
  const checker = new IdentityChecker(registry.port(), () => now, { ttlMs, maxEntries: 2 });
  return { registry, checker, advance: (ms: number) => (now += ms) };
}

describe('IdentityChecker', () => {
  it('asks the registry once, then answers from its cache until an event invalidates it', async () => {
    const { registry, checker } = setup();
    registry.admit('dev-1', '0a');
    expect(await checker.check(device)).toBeUndefined();
    expect(await checker.check(device)).toBeUndefined();
    expect(registry.checks).toBe(1);
    registry.answers.set('dev-1/0a', { ok: false, code: 'DEVICE_SUSPENDED', reason: 'suspended' });
    checker.invalidate('dev-1');
    expect(await checker.check(device)).toMatchObject({ reason: 'DEVICE_SUSPENDED', returnCode: 5 });
    expect(registry.checks).toBe(2);
  });

  it('asks again after the TTL', async () => {
    const { registry, checker, advance } = setup(1_000);
    registry.admit('dev-1', '0a');
    await checker.check(device);
    advance(1_000);
    await checker.check(device);
    expect(registry.checks).toBe(2);
  });

  it('does not cache an answer that raced with an event', async () => {
    const { registry, checker } = setup();
    registry.admit('dev-1', '0a');
    registry.duringCheck = () => checker.invalidate('dev-1');
    await checker.check(device);
    registry.duringCheck = undefined;
    await checker.check(device);
    expect(registry.checks).toBe(2);
  });

  it('keeps at most maxEntries answers', async () => {
    const { registry, checker } = setup();
    for (const id of ['dev-1', 'dev-2', 'dev-3']) await checker.check({ kind: 'device', deviceId: id, serial: '01' });
    expect(checker.size).toBe(2);
    expect(registry.checks).toBe(3);
  });

  it('answers code 3 when the registry fails', async () => {
    const { registry, checker } = setup();
    registry.failing = true;
    expect(await checker.check(device)).toMatchObject({ reason: 'REGISTRY_UNAVAILABLE', returnCode: 3 });
  });

  it('asks the registry about integration serials every time', async () => {
    const { registry, checker } = setup();
    const integration: Identity = { kind: 'integration', name: 'x', role: 'integration', serial: '0b' };
    expect(await checker.check(integration)).toBeUndefined();
    registry.revokedSerials.add('0b');
    expect(await checker.check(integration)).toMatchObject({ reason: 'CERT_REVOKED' });
  });

  it('follows registry events: device events drop cached answers, a revoked serial makes checks of it stale', async () => {
    const { registry, checker } = setup();
    registry.admit('dev-1', '0a');
    await checker.check(device);
    checker.observe({ v: 1, type: 'config-changed', deviceId: 'dev-1', at: 0 });
    await checker.check(device);
    expect(registry.checks).toBe(1);
    checker.observe({ v: 1, type: 'suspended', deviceId: 'dev-1', at: 0 });
    await checker.check(device);
    expect(registry.checks).toBe(2);

    const integration: Identity = { kind: 'integration', name: 'x', role: 'integration', serial: '0b' };
    const before = checker.generation(generationKey(integration));
    checker.observe({ v: 1, type: 'cert-revoked', deviceId: 'dev-9', serial: '0c', at: 0 });
    expect(checker.generation(generationKey(integration))).toBe(before);
    checker.observe({ v: 1, type: 'cert-revoked', deviceId: 'dev-9', serial: '000B', at: 0 });
    expect(checker.generation(generationKey(integration))).not.toBe(before);
  });
});
