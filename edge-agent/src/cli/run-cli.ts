/** The `outpost-agent` command line: dispatch, help, one-line errors, exit codes. */
import { isOutpostError } from '@outpost/protocol';
import type { CliDeps } from './cli-context.js';
import { CHECK_CONFIG_HELP, checkConfigCommand } from './check-config-command.js';
import { ENROLL_HELP, enrollCommand } from './enroll-command.js';
import { RUN_HELP, runCommand } from './run-command.js';
import { STATUS_HELP, statusCommand } from './status-command.js';

const COMMANDS: Readonly<Record<string, { help: string; run: (args: readonly string[], deps: CliDeps) => Promise<number> }>> = {
  enroll: { help: ENROLL_HELP, run: enrollCommand },
  run: { help: RUN_HELP, run: runCommand },
  status: { help: STATUS_HELP, run: statusCommand },
  'check-config': { help: CHECK_CONFIG_HELP, run: checkConfigCommand },
};

export const MAIN_HELP = `Usage: outpost-agent COMMAND [options]

The Outpost edge agent.

Commands:
  enroll        enroll this device with a token (--server URL --token-file F [--ca-fingerprint sha256:HEX])
  run           run the agent
  status        show the running agent's state
  check-config  validate the configuration file and show what would be collected

Every command takes --state-dir DIR (default /var/lib/outpost-agent), --config FILE and --help.
`;

/** Exit code of a usage error. */
export const USAGE_EXIT_CODE = 2;
/** Exit code when the platform refused the enrollment token (used up, expired, revoked, unknown); install.sh tells these apart. */
export const TOKEN_REFUSED_EXIT_CODE = 3;

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    deps.io.out(MAIN_HELP);
    return name === undefined ? USAGE_EXIT_CODE : 0;
  }
  if (name === '--version') {
    deps.io.out(`${deps.agentVersion}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    deps.io.err(`outpost-agent: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return USAGE_EXIT_CODE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    deps.io.out(command.help);
    return 0;
  }
  try {
    return await command.run(args, deps);
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    const code = isOutpostError(err) ? err.code : ((err as { code?: unknown }).code ?? 'AGENT_FAILED');
    deps.io.err(`outpost-agent ${name}: ${message} [${String(code)}]\n`);
    if (code === 'CLI_USAGE_INVALID') return USAGE_EXIT_CODE;
    return typeof code === 'string' && code.startsWith('ENROLL_TOKEN_') ? TOKEN_REFUSED_EXIT_CODE : 1;
  }
}
