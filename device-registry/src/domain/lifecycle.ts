import { OutpostError } from '@outpost/protocol';
import type { DeviceLifecycle } from '@outpost/kernel/domain';

export type LifecycleAction = 'suspend' | 'resume' | 'revoke' | 'delete';

export type Transition = { readonly to: DeviceLifecycle; readonly changed: boolean };

/**
 * The device lifecycle: active ⇄ suspended; active/suspended → revoked; anything →
 * decommissioned (delete). Repeating an action is a no-op (`changed: false`); an action that
 * makes no sense from the current state is a conflict.
 */
const TABLE: Readonly<Record<LifecycleAction, Partial<Record<DeviceLifecycle, DeviceLifecycle>>>> = {
  suspend: { active: 'suspended', suspended: 'suspended' },
  resume: { suspended: 'active', active: 'active' },
  revoke: { active: 'revoked', suspended: 'revoked', revoked: 'revoked' },
  delete: { active: 'decommissioned', suspended: 'decommissioned', revoked: 'decommissioned', decommissioned: 'decommissioned' },
};

export function transition(deviceId: string, from: DeviceLifecycle, action: LifecycleAction): Transition {
  const to = TABLE[action][from];
  if (to === undefined) {
    throw new OutpostError('DEVICE_STATE_CONFLICT', `device ${deviceId} is ${from}: it cannot be ${action === 'delete' ? 'deleted' : `${action}d`}`, {
      details: { status: from, action },
    });
  }
  return { to, changed: to !== from };
}

/** Whether a device in this state may get a new certificate (renewal). */
export function renewalRefusal(deviceId: string, status: DeviceLifecycle): OutpostError | undefined {
  switch (status) {
    case 'active':
      return undefined;
    case 'suspended':
      return new OutpostError('DEVICE_SUSPENDED', `device ${deviceId} is suspended; an operator must resume it first`, { status: 403 });
    case 'revoked':
      return new OutpostError('DEVICE_REVOKED', `device ${deviceId} is revoked; it must be enrolled again under a new id`, { status: 403 });
    case 'decommissioned':
      return new OutpostError('DEVICE_REVOKED', `device ${deviceId} was deleted; enroll it again with a token`, { status: 403 });
  }
}

/** Whether desired config and commands may still be set for a device in this state. */
export function acceptsInstructions(status: DeviceLifecycle): boolean {
  return status === 'active' || status === 'suspended';
}
