/** What the rollouts publish on the `rollouts` live topic: each device's state, and each rollout's summary when it changed. */
import type { LivePort } from '@outpost/kernel';
import type { OtaProgress } from '@outpost/protocol';
import type { DeviceState } from '../domain/rollout-spec.js';
import { sizesOf } from '../adapters/rollout-rows.js';
import type { RolloutStore } from '../adapters/rollout-store.js';

export class RolloutLive {
  readonly #store: RolloutStore;
  readonly #live: LivePort;
  readonly #published = new Map<string, string>();

  constructor(store: RolloutStore, live: LivePort) {
    this.#store = store;
    this.#live = live;
  }

  device(rolloutId: string, deviceId: string, wave: number, state: DeviceState, progress?: OtaProgress): void {
    this.#live.publish({
      topic: 'rollouts',
      deviceId,
      payload: {
        rolloutId,
        deviceId,
        wave,
        state,
        ...(progress?.percent === undefined ? {} : { percent: progress.percent }),
        ...(progress?.bytes === undefined ? {} : { bytes: progress.bytes }),
        ...(progress?.error === undefined ? {} : { error: progress.error }),
      },
    });
  }

  async summary(id: string): Promise<void> {
    const row = await this.#store.get(id);
    if (row === undefined) return;
    const counts: Record<string, number> = {};
    for (const c of await this.#store.counts(id)) counts[c.state] = (counts[c.state] ?? 0) + c.n;
    const payload = {
      rolloutId: row.id,
      state: row.state,
      currentWave: row.current_wave,
      waveCount: sizesOf(row).length,
      counts,
      reason: row.reason_code === null ? null : { code: row.reason_code, message: row.reason_message ?? '', at: row.reason_at ?? row.updated_at },
    };
    const text = JSON.stringify(payload);
    if (this.#published.get(id) === text) return;
    this.#published.set(id, text);
    this.#live.publish({ topic: 'rollouts', payload });
  }
}
