import { CliError, UsageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import type { CommandSpec } from './command.js';
import { createCommandContext } from './command-context.js';
import { createRootCommand } from './command-tree.js';
import { packageVersion } from '../server/package-version.js';
import { parseCommandLine } from './parse-command-line.js';
import { renderHelp } from './render-help.js';
import { printable } from './terminal-text.js';

export type { CliIo } from './cli-io.js';

/** One line for an error, on stderr; the exit code. Stack traces only with OUTPOST_DEBUG=1. */
function report(err: unknown, io: CliIo, root: CommandSpec): number {
  if (err instanceof UsageError) {
    const help = [root.name, ...err.helpPath, '--help'].join(' ');
    io.stderr.write(`${root.name}: ${printable(err.message)} — see '${help}'\n`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    io.stderr.write(`error: ${printable(err.message)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`${root.name}: unexpected error: ${printable(message)} (this is a bug; set OUTPOST_DEBUG=1 for details)\n`);
  if (io.env['OUTPOST_DEBUG'] === '1' && err instanceof Error && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * The `outpost` command line: parses `argv` (without node and the script),
 * runs the command and resolves with the exit code — 0 success, 1 failure,
 * 2 usage error. Never throws and never exits the process.
 */
export async function runCli(argv: readonly string[], io: CliIo, root: CommandSpec = createRootCommand()): Promise<number> {
  try {
    const parsed = parseCommandLine(root, argv);
    if (parsed.path.length === 0 && parsed.flags.get('version') === true) {
      io.stdout.write(`${root.name} ${packageVersion()}\n`);
      return 0;
    }
    if (parsed.help || parsed.command.run === undefined) {
      const lines = await renderHelp(root, parsed.path, parsed.command);
      io.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    const code = await parsed.command.run(createCommandContext(root, parsed, io));
    return code ?? 0;
  } catch (err) {
    return report(err, io, root);
  }
}
