import { describe, expect, it } from 'vitest';
import { acceptsInstructions, renewalRefusal, transition, type LifecycleAction } from '../../src/domain/lifecycle.js';
import type { DeviceLifecycle } from '@outpost/kernel';

describe('device lifecycle', () => {
  const table: [DeviceLifecycle, LifecycleAction, DeviceLifecycle | 'conflict', boolean][] = [
    ['active', 'suspend', 'suspended', true],
    ['suspended', 'suspend', 'suspended', false],
    ['revoked', 'suspend', 'conflict', false],
    ['decommissioned', 'suspend', 'conflict', false],
    ['suspended', 'resume', 'active', true],
    ['active', 'resume', 'active', false],
    ['revoked', 'resume', 'conflict', false],
    ['active', 'revoke', 'revoked', true],
    ['suspended', 'revoke', 'revoked', true],
    ['revoked', 'revoke', 'revoked', false],
    ['decommissioned', 'revoke', 'conflict', false],
    ['active', 'delete', 'decommissioned', true],
    ['suspended', 'delete', 'decommissioned', true],
    ['revoked', 'delete', 'decommissioned', true],
    ['decommissioned', 'delete', 'decommissioned', false],
  ];
  for (const [from, action, to, changed] of table) {
    it(`${action} from ${from} → ${to}`, () => {
      if (to === 'conflict') {
        expect(() => transition('d-1', from, action)).toThrow(expect.objectContaining({ code: 'DEVICE_STATE_CONFLICT' }));
      } else {
        expect(transition('d-1', from, action)).toEqual({ to, changed });
      }
    });
  }

  it('lets only active devices renew, with a code per reason', () => {
    expect(renewalRefusal('d', 'active')).toBeUndefined();
    expect(renewalRefusal('d', 'suspended')).toMatchObject({ code: 'DEVICE_SUSPENDED', status: 403 });
    expect(renewalRefusal('d', 'revoked')).toMatchObject({ code: 'DEVICE_REVOKED', status: 403 });
    expect(renewalRefusal('d', 'decommissioned')).toMatchObject({ code: 'DEVICE_REVOKED', status: 403 });
  });

  it('takes config and commands while active or suspended', () => {
    expect((['active', 'suspended', 'revoked', 'decommissioned'] as const).map(acceptsInstructions)).toEqual([true, true, false, false]);
  });
});
