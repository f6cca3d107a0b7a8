/**
 * Wave sizes from a wave plan (pure): how many devices each wave adds. Percentages and counts
 * are cumulative targets, rounded up; every wave adds at least one device; waves that would
 * add none (more waves than devices) are dropped; the last wave takes every device left.
 */
import type { WavePlan } from './rollout-spec.js';

export function waveSizes(total: number, plan: WavePlan): number[] {
  if (total <= 0) return [];
  const sizes: number[] = [];
  let done = 0;
  if (plan.kind === 'steps') {
    for (const step of plan.steps) {
      if (done >= total) break;
      const wanted = 'percent' in step ? Math.ceil((step.percent / 100) * total - 1e-9) : step.count;
      const reach = Math.min(total, Math.max(done + 1, wanted));
      sizes.push(reach - done);
      done = reach;
    }
  } else {
    let next = plan.initial;
    while (done < total) {
      const size = Math.min(total - done, Math.max(1, Math.ceil(next - 1e-9)));
      sizes.push(size);
      done += size;
      next = next * plan.factor;
    }
  }
  if (done < total) {
    const last = sizes.length - 1;
    if (last < 0) sizes.push(total - done);
    else sizes[last] = (sizes[last] ?? 0) + (total - done);
  }
  return sizes;
}

/** The wave index of each position 0..total-1, given the sizes. */
export function waveOfPosition(sizes: readonly number[]): number[] {
  return sizes.flatMap((size, wave) => Array.from({ length: size }, () => wave));
}
