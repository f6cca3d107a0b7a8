import type { RegistryEvent } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { dropReason, invalidatesIdentity } from '../../src/domain/session-drop.js';

const session = { deviceId: 'dev-1', serial: '0a1b' };
const event = (type: RegistryEvent['type'], extra: Partial<RegistryEvent> = {}): RegistryEvent => ({ v: 1, type, deviceId: 'dev-1', at: 0, ...extra });

describe('dropReason', () => {
  it.each([
    ['suspended', event('suspended'), 'device suspended'],
    ['revoked', event('revoked'), 'device revoked'],
    ['deleted', event('deleted'), 'device deleted'],
    ['cert-revoked of its serial (any case)', event('cert-revoked', { serial: '0A1B' }), 'certificate 0a1b revoked'],
    ['cert-revoked of another serial', event('cert-revoked', { serial: 'ff' }), undefined],
    ['resumed', event('resumed'), undefined],
    ['config-changed', event('config-changed'), undefined],
    ['another device', { ...event('revoked'), deviceId: 'dev-2' }, undefined],
  ])('%s', (_what, e, expected) => {
    expect(dropReason(e, session)).toBe(expected);
  });
});

describe('invalidatesIdentity', () => {
  it.each([
    ['suspended', true],
    ['resumed', true],
    ['cert-revoked', true],
    ['renewed', true],
    ['config-changed', false],
    ['command-created', false],
    ['tags-changed', false],
  ] as const)('%s → %s', (type, expected) => {
    expect(invalidatesIdentity(event(type))).toBe(expected);
  });
});
