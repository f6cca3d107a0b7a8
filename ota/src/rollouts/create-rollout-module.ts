import type { RolloutModule, RolloutModuleInput } from './rollout-module.js';

/** Placeholder until the rollout engine lands (same signature). */
export async function createRolloutModule(input: RolloutModuleInput): Promise<RolloutModule> {
  void input;
  return {
    routes: () => undefined,
    start: async () => undefined,
    close: async () => undefined,
    maintenance: { isUpdating: () => false },
    hasJobFor: async () => false,
    artifactInUse: async () => false,
    metrics: () => undefined,
  };
}
