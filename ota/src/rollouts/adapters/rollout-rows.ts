/** Reading and making rollout rows: the stored spec and wave sizes, wave counts, targets, new device rows. */
import { createHash } from 'node:crypto';
import type { DeviceState, RolloutSpec, RolloutTarget } from '../domain/rollout-spec.js';
import type { RolloutDeviceRow, RolloutRow } from './rollout-store.js';

export function specOf(row: RolloutRow): RolloutSpec {
  return JSON.parse(row.spec) as RolloutSpec;
}

export function sizesOf(row: RolloutRow): number[] {
  return JSON.parse(row.wave_sizes) as number[];
}

export function positionOf(rolloutId: string, deviceId: string): string {
  return createHash('sha256').update(`${rolloutId}\u0000${deviceId}`).digest('hex').slice(0, 16);
}

/** Device counts per wave from device rows. */
export function countsByWave(rows: readonly Pick<RolloutDeviceRow, 'wave' | 'state'>[]): Map<number, Partial<Record<DeviceState, number>>> {
  const waves = new Map<number, Partial<Record<DeviceState, number>>>();
  for (const row of rows) {
    const counts = waves.get(row.wave) ?? {};
    const state = row.state as DeviceState;
    counts[state] = (counts[state] ?? 0) + 1;
    waves.set(row.wave, counts);
  }
  return waves;
}

export function matchesTarget(target: RolloutTarget, device: { readonly id: string; readonly group: string; readonly tags: Readonly<Record<string, string>> }): boolean {
  if (target.devices !== undefined && !target.devices.includes(device.id)) return false;
  if (target.group !== undefined && device.group !== target.group) return false;
  for (const [k, v] of Object.entries(target.tags ?? {})) if (device.tags[k] !== v) return false;
  return true;
}

export function newDeviceRow(rolloutId: string, deviceId: string, wave: number, now: number): RolloutDeviceRow {
  return {
    rollout_id: rolloutId,
    device_id: deviceId,
    wave,
    position: positionOf(rolloutId, deviceId),
    state: 'pending',
    job_id: null,
    job: null,
    percent: null,
    bytes: null,
    error_code: null,
    error_message: null,
    attempts: 0,
    queued_at: null,
    progress_at: null,
    finished_at: null,
    updated_at: now,
  };
}
