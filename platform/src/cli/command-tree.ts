import type { CommandSpec } from './command.js';
import { agentCommand } from './commands/agent-command.js';
import { apiTokensCommand } from './commands/api-tokens-command.js';
import { auditCommand } from './commands/audit-command.js';
import { backupCommand } from './commands/backup-command.js';
import { demoCommand } from './commands/demo-command.js';
import { devicesCommand } from './commands/devices-command.js';
import { enrollmentTokensCommand } from './commands/enrollment-tokens-command.js';
import { firmwareCommand } from './commands/firmware-command.js';
import { helpCommand } from './commands/help-command.js';
import { keysCommand } from './commands/keys-command.js';
import { loginCommand } from './commands/login-command.js';
import { logoutCommand } from './commands/logout-command.js';
import { rolloutsCommand } from './commands/rollouts-command.js';
import { rulesCommand } from './commands/rules-command.js';
import { serverCommand } from './commands/server-command.js';
import { telemetryCommand } from './commands/telemetry-command.js';
import { usersCommand } from './commands/users-command.js';
import { whoamiCommand } from './commands/whoami-command.js';

/**
 * The top-level commands, in the order `outpost --help` lists them. To add one,
 * write `commands/<name>-command.ts` exporting a `CommandSpec` and list it here.
 */
export const COMMANDS: readonly CommandSpec[] = [
  serverCommand,
  demoCommand,
  loginCommand,
  logoutCommand,
  whoamiCommand,
  usersCommand,
  apiTokensCommand,
  enrollmentTokensCommand,
  devicesCommand,
  agentCommand,
  rulesCommand,
  rolloutsCommand,
  keysCommand,
  firmwareCommand,
  telemetryCommand,
  auditCommand,
  backupCommand,
];

/** The `outpost` root: the registered commands plus `help`. */
export function createRootCommand(commands: readonly CommandSpec[] = COMMANDS): CommandSpec {
  return {
    name: 'outpost',
    summary: 'Outpost IoT platform: the server and the operator CLI',
    description:
      'Outpost IoT platform: the server and the operator CLI.\n' +
      'Operator commands call the REST API at --server (else env OUTPOST_SERVER, else the server saved by ' +
      "'outpost login', else http://127.0.0.1:8080) with --token (else env OUTPOST_TOKEN, else the saved session). " +
      'Command words come first, then arguments and flags.',
    flags: { version: { type: 'boolean', description: 'print the version and exit' } },
    subcommands: [...commands, helpCommand],
  };
}
