import type { ArgSpec, CommandSpec, FlagSpec } from './command.js';
import { flagsOf, listOf } from './parse-command-line.js';

const WIDTH = 100;

/** The command at `path` below `root`, if there is one. */
export function findCommand(root: CommandSpec, path: readonly string[]): CommandSpec | undefined {
  let command: CommandSpec | undefined = root;
  for (const name of path) command = command?.subcommands?.find((candidate) => candidate.name === name);
  return command;
}

function argUsage(arg: ArgSpec): string {
  const name = arg.variadic === true ? `${arg.name}...` : arg.name;
  return arg.optional === true ? `[${name}]` : name;
}

function flagLabel(name: string, spec: FlagSpec): string {
  const long = spec.type === 'string' ? `--${name} ${spec.valueName ?? name.toUpperCase()}` : `--${name}`;
  return spec.short === undefined ? `    ${long}` : `-${spec.short}, ${long}`;
}

function flagText(spec: FlagSpec): string {
  const notes: string[] = [];
  if (spec.choices !== undefined) notes.push(`one of ${listOf(spec.choices)}`);
  if (spec.default !== undefined) notes.push(`default: ${spec.default}`);
  if (spec.required === true) notes.push('required');
  if (spec.multiple === true) notes.push('repeatable');
  return notes.length === 0 ? spec.description : `${spec.description} (${notes.join('; ')})`;
}

/** Two columns: labels padded to the longest, text wrapped under itself. */
function twoColumns(rows: readonly (readonly [string, string])[]): string[] {
  const labelWidth = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.flatMap(([label, text]) => {
    const lines = wrap(text, Math.max(40, WIDTH - labelWidth - 2));
    return lines.map((line, i) => `  ${(i === 0 ? label : '').padEnd(labelWidth)}${line}`.trimEnd());
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/** The full help of one command or group, as lines. */
export async function renderHelp(root: CommandSpec, path: readonly string[], command: CommandSpec): Promise<string[]> {
  const name = [root.name, ...path].join(' ');
  const flags = flagsOf(command);
  const lines: string[] = [];

  if (command.subcommands !== undefined) {
    lines.push(`Usage: ${name} <command> [flags]`);
  } else {
    const required = Object.entries(flags)
      .filter(([, spec]) => spec.required === true)
      .map(([flag, spec]) => `--${flag} ${spec.valueName ?? flag.toUpperCase()}`);
    lines.push(['Usage:', name, ...(command.args ?? []).map(argUsage), ...required, '[flags]'].join(' '));
  }
  lines.push('');
  for (const paragraph of (command.description ?? command.summary).split('\n')) lines.push(...wrap(paragraph, WIDTH));

  if (command.args !== undefined && command.args.length > 0) {
    lines.push('', 'Arguments:');
    lines.push(...twoColumns(command.args.map((arg) => [arg.name, arg.choices === undefined ? arg.description : `${arg.description} (${listOf(arg.choices)})`])));
  }
  if (command.subcommands !== undefined) {
    lines.push('', 'Commands:');
    lines.push(...twoColumns(command.subcommands.map((sub) => [sub.name, sub.summary])));
  }
  lines.push('', 'Flags:');
  lines.push(...twoColumns(Object.entries(flags).map(([flag, spec]) => [flagLabel(flag, spec), flagText(spec)])));
  if (command.examples !== undefined && command.examples.length > 0) {
    lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  }
  if (command.extraHelp !== undefined) lines.push('', ...(await command.extraHelp()));
  if (command.subcommands !== undefined) {
    lines.push('', `Run '${name} <command> --help' for details of a command.`);
  }
  return lines;
}
