/**
 * Which configuration the agent runs (SPEC "agent.json"): the last applied DesiredConfig when
 * there is one (persisted, so a restart uses it), else agent.json, else the system metrics every
 * 10 s. Limits come from the DesiredConfig, else from enrollment, and clamp batching.
 */
import { OutpostError, validatePayload } from '@outpost/protocol';
import type { AgentConfig, DesiredConfig, Limits, Processing, Reconnect } from '@outpost/protocol';
import { readJsonIfExists } from '../identity/atomic-file.js';
import type { PipelineSpec } from './pipeline-port.js';

export const DEFAULT_RECONNECT: Reconnect = Object.freeze({ minMs: 1_000, maxMs: 60_000 });
export const DEFAULT_AGENT_CONFIG: AgentConfig = Object.freeze({ collectors: [{ type: 'system', intervalMs: 10_000 }] }) as AgentConfig;

export type ConfigOrigin = 'desired' | 'file' | 'default';

export interface EffectiveConfig {
  readonly origin: ConfigOrigin;
  /** The DesiredConfig version; undefined for agent.json and the default. */
  readonly version?: number;
  readonly spec: PipelineSpec;
  readonly reconnect: Reconnect;
}

/** Reads agent.json (AgentConfig; durations as strings allowed); the default when the file is absent. */
export async function readAgentConfig(file: string): Promise<{ config: AgentConfig; origin: 'file' | 'default' }> {
  const raw = await readJsonIfExists(file);
  if (raw === undefined) return { config: DEFAULT_AGENT_CONFIG, origin: 'default' };
  const checked = validatePayload('AgentConfig', raw);
  if (!checked.ok) throw new OutpostError('AGENT_CONFIG_INVALID', `${file}: ${checked.reason}`);
  return { config: checked.value, origin: 'file' };
}

/** Batching never exceeds the platform's sample limit. */
export function clampProcessing(processing: Processing | undefined, limits: Limits): Processing | undefined {
  const batch = processing?.batch;
  if (processing === undefined || batch === undefined || batch.maxSamples <= limits.maxSamples) return processing;
  return { ...processing, batch: { ...batch, maxSamples: limits.maxSamples } };
}

function specOf(config: AgentConfig | DesiredConfig, limits: Limits): PipelineSpec {
  const processing = clampProcessing(config.processing, limits);
  return {
    collectors: config.collectors,
    ...(processing === undefined ? {} : { processing }),
    ...(config.rules === undefined ? {} : { rules: config.rules }),
    limits,
  };
}

export function fromAgentConfig(config: AgentConfig, origin: 'file' | 'default', limits: Limits): EffectiveConfig {
  return { origin, spec: specOf(config, limits), reconnect: config.reconnect ?? DEFAULT_RECONNECT };
}

export function fromDesiredConfig(config: DesiredConfig): EffectiveConfig {
  return { origin: 'desired', version: config.version, spec: specOf(config, config.limits), reconnect: config.reconnect ?? DEFAULT_RECONNECT };
}

/** The persisted DesiredConfig, if any; a damaged file is reported and ignored (agent.json applies). */
export async function readAppliedDesired(file: string): Promise<DesiredConfig | undefined> {
  const raw = await readJsonIfExists(file);
  if (raw === undefined) return undefined;
  const checked = validatePayload('DesiredConfig', raw);
  if (!checked.ok) throw new OutpostError('AGENT_STATE_INVALID', `${file}: ${checked.reason}`);
  return checked.value;
}
