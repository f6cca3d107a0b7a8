import { UsageError } from '../cli-error.js';
import type { CommandSpec } from '../command.js';
import { findCommand, renderHelp } from '../render-help.js';
import { didYouMean } from '../suggest.js';

export const helpCommand: CommandSpec = {
  name: 'help',
  summary: 'Show help for a command',
  args: [{ name: 'COMMAND', description: 'a command, e.g. "users create"', optional: true, variadic: true }],
  examples: ['outpost help users create'],
  async run(ctx) {
    const path = ctx.rest('COMMAND');
    let command: CommandSpec = ctx.root;
    for (const [i, name] of path.entries()) {
      const next = findCommand(command, [name]);
      if (next === undefined) {
        const names = (command.subcommands ?? []).map((c) => c.name);
        const where = i === 0 ? '' : ` for '${[ctx.root.name, ...path.slice(0, i)].join(' ')}'`;
        throw new UsageError(`unknown command "${name}"${where}${didYouMean(name, names)}`, path.slice(0, i));
      }
      command = next;
    }
    for (const line of await renderHelp(ctx.root, path, command)) ctx.print(line);
  },
};
