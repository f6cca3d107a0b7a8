/**
 * OTA as a platform part (issue 13): signing keys and the TrustSet, signed firmware artifacts
 * stored content-addressed, the device download route, and (ota/src/rollouts) rollouts.
 * Composed after the registry and the broker, whose ports it reads: `registry` (device
 * certificates), `deviceChannel` (TrustSet and OtaJob publishing) and `deviceInbox`
 * (presence, progress); it provides `maintenance` to the parts after it (alerts).
 */
import { requirePort, type MaintenancePort, type Part, type PartDeps } from '@outpost/kernel';

export const PART_NAME = 'ota';

/** The OTA part's factory. */
export function createOtaPart(): (deps: PartDeps) => Part {
  return (deps) => {
    requirePort(deps.ports, 'registry', PART_NAME);
    requirePort(deps.ports, 'deviceChannel', PART_NAME);
    requirePort(deps.ports, 'deviceInbox', PART_NAME);
    let state: 'ok' | 'down' = 'down';
    const maintenance: MaintenancePort = { isUpdating: () => false };
    return {
      name: PART_NAME,
      provides: { maintenance },
      start: () => {
        state = 'ok';
        return Promise.resolve();
      },
      ready: () => state,
      close: () => {
        state = 'down';
        return Promise.resolve();
      },
    };
  };
}
