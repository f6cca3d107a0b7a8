import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { TelemetrySample } from '@outpost/protocol';

export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

export function sample(ts: number, metrics: TelemetrySample['metrics']): TelemetrySample {
  return { ts, metrics };
}
