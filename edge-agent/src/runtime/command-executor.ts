/**
 * Runs Commands (SPEC "Command"): `ping`, `collect-now`, `diagnostics`, `reboot` (a configurable
 * hook, run after the result is sent, since a reboot would cut it off) and `restart-agent` (the
 * agent stops gracefully and exits with RESTART_EXIT_CODE, which the launcher/systemd restarts).
 * An expired command is refused with its reason; a command id seen recently is answered again
 * without running twice (QoS 1 may deliver it twice).
 */
import type { Command, CommandResult } from '@outpost/protocol';
import { commandRefusal, errorResult, okResult } from './command-rules.js';

/** The exit code of `restart-agent` (EX_TEMPFAIL); systemd's Restart=on-failure restarts the agent. */
export const RESTART_EXIT_CODE = 75;

export interface CommandExecutorDeps {
  readonly now: () => number;
  collectNow(): Promise<void>;
  diagnostics(): unknown;
  /** `/bin/sh -c` command line for `reboot`. */
  readonly rebootCommand: string;
  readonly rebootTimeoutMs?: number;
  /** After the result of restart-agent was sent. */
  requestRestart(): void;
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

export interface CommandOutcome {
  readonly result: CommandResult;
  /** Runs once the result was sent (reboot, restart). */
  readonly after?: () => Promise<void>;
}

const REMEMBERED = 256;

export interface CommandExecutor {
  execute(command: Command): Promise<CommandOutcome>;
}

export async function runShell(commandLine: string, timeoutMs: number): Promise<{ code: number; output: string }> {
  // Loaded on first use: most devices never start a process, and node:child_process costs memory
  // on every one that does not (issue 12).
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', commandLine], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err === null) resolve({ code: 0, output });
      else resolve({ code: typeof err.code === 'number' ? err.code : 1, output: `${output}${err.message}` });
    });
  });
}

export function createCommandExecutor(deps: CommandExecutorDeps): CommandExecutor {
  const seen = new Map<string, CommandResult>();
  function remember(id: string, result: CommandResult): void {
    seen.set(id, result);
    if (seen.size > REMEMBERED) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
  }

  async function run(command: Command): Promise<CommandOutcome> {
    const at = deps.now();
    const refusal = commandRefusal(command, at);
    if (refusal !== undefined) return { result: errorResult(command.id, refusal.code, refusal.message, at) };
    switch (command.name) {
      case 'ping':
        return { result: okResult(command.id, 'pong', deps.now()) };
      case 'collect-now':
        await deps.collectNow();
        return { result: okResult(command.id, 'collected', deps.now()) };
      case 'diagnostics':
        return { result: okResult(command.id, JSON.stringify(deps.diagnostics(), null, 2), deps.now()) };
      case 'reboot':
        return {
          result: okResult(command.id, `rebooting: ${deps.rebootCommand}`, deps.now()),
          after: async () => {
            const { code, output } = await runShell(deps.rebootCommand, deps.rebootTimeoutMs ?? 60_000);
            if (code === 0) deps.log.info({ output: output.slice(0, 512) }, 'reboot hook ran');
            else deps.log.warn({ code, output: output.slice(0, 512) }, 'reboot hook failed');
          },
        };
      case 'restart-agent':
        return { result: okResult(command.id, `restarting (exit ${RESTART_EXIT_CODE})`, deps.now()), after: async () => deps.requestRestart() };
      default:
        return { result: errorResult(command.id, 'COMMAND_UNKNOWN', `unknown command ${command.name}`, at) };
    }
  }

  return {
    async execute(command: Command): Promise<CommandOutcome> {
      const earlier = seen.get(command.id);
      if (earlier !== undefined) return { result: earlier };
      let outcome: CommandOutcome;
      try {
        outcome = await run(command);
      } catch (err) {
        const e = err as { code?: unknown; message?: unknown };
        outcome = { result: errorResult(command.id, typeof e.code === 'string' ? e.code : 'COMMAND_FAILED', String(e.message ?? err), deps.now()) };
      }
      remember(command.id, outcome.result);
      return outcome;
    },
  };
}
