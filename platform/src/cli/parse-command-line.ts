import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';
import type { CommandSpec, FlagSpec } from './command.js';
import { didYouMean } from './suggest.js';

export type FlagValue = string | boolean | string[];

export interface ParsedCommandLine {
  readonly command: CommandSpec;
  /** Command names from the root, e.g. `['users', 'create']`. */
  readonly path: readonly string[];
  /** Positional arguments by `ArgSpec.name`; a variadic one holds all remaining values. */
  readonly args: ReadonlyMap<string, string | readonly string[]>;
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** `--help`/`-h` was given, or a bare `outpost`: show help, skip validation. */
  readonly help: boolean;
}

export const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', description: 'show help for this command' };

/** A command's flags including `--help`. */
export function flagsOf(command: CommandSpec): Readonly<Record<string, FlagSpec>> {
  return { ...command.flags, help: HELP_FLAG };
}

/**
 * Resolves the command path (leading words that name subcommands), then parses
 * the rest against that command's flags and arguments. Every mistake is a
 * `UsageError` with one line of text; nothing is ever guessed silently.
 */
export function parseCommandLine(root: CommandSpec, argv: readonly string[]): ParsedCommandLine {
  let command = root;
  const path: string[] = [];
  let index = 0;
  for (; index < argv.length; index++) {
    const word = argv[index];
    const subcommands = command.subcommands;
    if (word === undefined || word.startsWith('-') || subcommands === undefined) break;
    const next = subcommands.find((candidate) => candidate.name === word);
    if (next === undefined) {
      const where = path.length === 0 ? '' : ` for '${[root.name, ...path].join(' ')}'`;
      throw new UsageError(`unknown command "${word}"${where}${didYouMean(word, subcommands.map((c) => c.name))}`, path);
    }
    command = next;
    path.push(word);
  }

  const flags = flagsOf(command);
  const parsed = parseArgs({
    args: argv.slice(index),
    options: Object.fromEntries(
      Object.entries(flags).map(([name, spec]) => [name, { type: spec.type, ...(spec.short === undefined ? {} : { short: spec.short }) }]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  const values = new Map<string, FlagValue>();
  const positionals: string[] = [];
  const commandName = [root.name, ...path].join(' ');
  for (const token of parsed.tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = flags[token.name];
    if (spec === undefined) {
      const hint = didYouMean(token.rawName.replace(/^-+/, ''), Object.keys(flags), '--');
      const placement =
        hint === '' && command.subcommands !== undefined && path.length === 0 ? "; flags go after the command, e.g. 'outpost users list --server URL'" : '';
      throw new UsageError(`unknown flag ${token.rawName} for '${commandName}'${hint}${placement}`, path);
    }
    const display = `--${token.name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`flag ${display} takes no value (got "${token.value}")`, path);
      values.set(token.name, true);
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith('-') && value !== '-')) {
      const example = `${display}=${spec.valueName ?? token.name.toUpperCase()}`;
      throw new UsageError(`flag ${display} needs a value (a value starting with "-" must be written ${example})`, path);
    }
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      throw new UsageError(`invalid value "${value}" for ${display} (expected ${listOf(spec.choices)})`, path);
    }
    if (spec.multiple === true) {
      const previous = values.get(token.name);
      values.set(token.name, [...(Array.isArray(previous) ? previous : []), value]);
    } else {
      if (values.has(token.name)) throw new UsageError(`flag ${display} given more than once`, path);
      values.set(token.name, value);
    }
  }

  const help = values.get('help') === true;
  const args = new Map<string, string | readonly string[]>();
  if (help) return { command, path, args, flags: values, help };

  if (command.run === undefined) {
    if (path.length === 0 && positionals.length === 0) return { command, path, args, flags: values, help: true };
    const names = (command.subcommands ?? []).map((c) => c.name);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (flags go after the command)`, path);
    throw new UsageError(`'${commandName}' needs a command: ${listOf(names)}`, path);
  }

  const specs = command.args ?? [];
  let position = 0;
  for (const spec of specs) {
    if (spec.variadic === true) {
      const rest = positionals.slice(position);
      position = positionals.length;
      if (rest.length === 0 && spec.optional !== true) throw new UsageError(`missing argument ${spec.name}`, path);
      for (const value of rest) checkChoice(spec.name, spec.choices, value, path);
      args.set(spec.name, rest);
      continue;
    }
    const value = positionals[position];
    if (value === undefined) {
      if (spec.optional === true) continue;
      throw new UsageError(`missing argument ${spec.name}`, path);
    }
    checkChoice(spec.name, spec.choices, value, path);
    args.set(spec.name, value);
    position++;
  }
  const extra = positionals[position];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" for '${commandName}'`, path);

  for (const [name, spec] of Object.entries(flags)) {
    if (spec.required === true && !values.has(name)) throw new UsageError(`missing required flag --${name}`, path);
  }
  return { command, path, args, flags: values, help };
}

function checkChoice(name: string, choices: readonly string[] | undefined, value: string, path: readonly string[]): void {
  if (choices !== undefined && !choices.includes(value)) {
    throw new UsageError(`invalid ${name} "${value}" (expected ${listOf(choices)})`, path);
  }
}

/** `a, b or c` */
export function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
