/** Pure rules for Commands: expiry, known names, results. */
import { MAX_COMMAND_OUTPUT } from '@outpost/protocol';
import type { Command, CommandResult } from '@outpost/protocol';

export const COMMAND_NAMES = ['ping', 'collect-now', 'diagnostics', 'reboot', 'restart-agent'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export function isKnownCommand(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** Why a command must not run, or undefined: expired (expiresAt past), unknown name. */
export function commandRefusal(command: Command, now: number): { code: string; message: string } | undefined {
  if (command.expiresAt <= now) {
    return { code: 'COMMAND_EXPIRED', message: `command ${command.id} expired at ${new Date(command.expiresAt).toISOString()} (now ${new Date(now).toISOString()})` };
  }
  if (!isKnownCommand(command.name)) {
    return { code: 'COMMAND_UNKNOWN', message: `unknown command ${JSON.stringify(command.name)}; known: ${COMMAND_NAMES.join(', ')}` };
  }
  return undefined;
}

export function okResult(id: string, output: string | undefined, at: number): CommandResult {
  return output === undefined ? { v: 1, id, ok: true, at } : { v: 1, id, ok: true, output: truncate(output), at };
}

export function errorResult(id: string, code: string, message: string, at: number, output?: string): CommandResult {
  const base = { v: 1 as const, id, ok: false, error: { code: code.slice(0, 64), message: message.slice(0, 1024) }, at };
  return output === undefined ? base : { ...base, output: truncate(output) };
}

function truncate(text: string): string {
  return text.length <= MAX_COMMAND_OUTPUT ? text : `${text.slice(0, MAX_COMMAND_OUTPUT - 20)}\n…(truncated)`;
}
