/** `outpost-agent check-config`: validates agent.json and prints what the agent would collect. */
import { OutpostError } from '@outpost/protocol';
import type { Collector } from '@outpost/protocol';
import { readAppliedDesired, readAgentConfig, fromAgentConfig } from '../runtime/config-source.js';
import { DEFAULT_LIMITS_WIRE } from '../runtime/default-limits.js';
import { COMMON_FLAGS, commonPaths } from './cli-context.js';
import type { CliDeps } from './cli-context.js';
import { helpText, parseFlags } from './parse-args.js';

export const CHECK_CONFIG_HELP = helpText(
  'outpost-agent check-config [--config FILE] [--state-dir DIR]',
  'Validates the agent configuration file and prints what the agent would collect; exits 1 when it is invalid.',
  COMMON_FLAGS,
);

function every(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function describeCollector(c: Collector): string {
  switch (c.type) {
    case 'simulated':
      return `simulated metrics ${Object.keys(c.metrics).join(', ')} every ${every(c.intervalMs)}`;
    case 'command':
      return `command ${JSON.stringify(c.cmd)} (${c.format}) every ${every(c.intervalMs)}`;
    default:
      return `${c.type} metrics every ${every(c.intervalMs)}`;
  }
}

export async function checkConfigCommand(args: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseFlags(args, COMMON_FLAGS);
  const { paths, configFile } = commonPaths(parsed);
  const { config, origin } = await readAgentConfig(configFile);
  const effective = fromAgentConfig(config, origin, DEFAULT_LIMITS_WIRE);
  const checked = deps.dataPath.validatePipelineConfig(effective.spec);
  if (!checked.ok) throw new OutpostError('AGENT_CONFIG_INVALID', `${configFile}: ${checked.reason}`);
  deps.io.out(origin === 'file' ? `${configFile}: valid\n` : `${configFile} does not exist: the default applies\n`);
  for (const collector of effective.spec.collectors) deps.io.out(`  collect ${describeCollector(collector)}\n`);
  const batch = effective.spec.processing?.batch;
  if (batch !== undefined) deps.io.out(`  batch up to ${batch.maxSamples} samples or ${every(batch.maxAgeMs)}\n`);
  if ((effective.spec.rules?.length ?? 0) > 0) deps.io.out(`  ${effective.spec.rules?.length} local rule(s)\n`);
  deps.io.out(`  reconnect backoff ${every(effective.reconnect.minMs)} .. ${every(effective.reconnect.maxMs)}\n`);
  const allowed = config.allowCommands ?? [];
  deps.io.out(allowed.length === 0 ? '  remote command collectors: none allowed (allowCommands is empty)\n' : `  remote command collectors may run: ${allowed.join(', ')}\n`);
  try {
    const desired = await readAppliedDesired(paths.appliedConfig);
    if (desired !== undefined) deps.io.out(`note: desired config version ${desired.version} from the platform is applied in ${paths.dir} and wins over this file\n`);
  } catch {
    // A damaged desired-config.json is the runtime's concern; this command checks the file.
  }
  return 0;
}
