/** What every agent command gets: output streams, the data path, versions, common flags. */
import { join } from 'node:path';
import type { DataPath } from '../runtime/pipeline-port.js';
import { DEFAULT_STATE_DIR, statePaths } from '../identity/state-dir.js';
import type { StatePaths } from '../identity/state-dir.js';
import type { FlagSpec, ParsedArgs } from './parse-args.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface SignalSource {
  once(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
}

export interface CliDeps {
  readonly io: CliIo;
  readonly dataPath: DataPath;
  readonly agentVersion: string;
  readonly signals: SignalSource;
  /** All of standard input (`enroll --token-file -`). */
  readonly readStdin?: () => Promise<string>;
}

export const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: 'state-dir', value: 'DIR', help: `state directory (default ${DEFAULT_STATE_DIR})` },
  { name: 'config', value: 'FILE', help: 'agent.json (default DIR/agent.json); without it: system metrics every 10 s' },
];

export function commonPaths(parsed: ParsedArgs): { paths: StatePaths; configFile: string } {
  const dir = parsed.flags.get('state-dir') ?? DEFAULT_STATE_DIR;
  const paths = statePaths(dir);
  return { paths, configFile: parsed.flags.get('config') ?? join(dir, 'agent.json') };
}
