/**
 * The agent CLI's command line: `outpost-agent COMMAND [--flag value | --flag=value | --switch]`.
 * Each command declares its flags; anything else is a one-line error.
 */
import { OutpostError } from '@outpost/protocol';

export interface FlagSpec {
  readonly name: string;
  /** A switch takes no value. */
  readonly switch?: boolean;
  readonly value?: string;
  readonly help: string;
}

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>;
  readonly switches: ReadonlySet<string>;
}

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) throw new OutpostError('CLI_USAGE_INVALID', `unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) throw new OutpostError('CLI_USAGE_INVALID', `unknown option --${name} (see --help)`);
    if (spec.switch === true) {
      if (eq !== -1) throw new OutpostError('CLI_USAGE_INVALID', `--${name} takes no value`);
      switches.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      i += 1;
    }
    if (value === undefined || value === '') throw new OutpostError('CLI_USAGE_INVALID', `--${name} needs a value`);
    flags.set(name, value);
  }
  return { flags, switches };
}

export function requireFlag(parsed: ParsedArgs, name: string): string {
  const value = parsed.flags.get(name);
  if (value === undefined) throw new OutpostError('CLI_USAGE_INVALID', `--${name} is required (see --help)`);
  return value;
}

/** A duration flag: `250ms`, `5s`, `2m`, `1h`, `7d`, or plain milliseconds. */
export function durationFlag(parsed: ParsedArgs, name: string): number | undefined {
  const text = parsed.flags.get(name);
  if (text === undefined) return undefined;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new OutpostError('CLI_USAGE_INVALID', `--${name} must be a duration such as 500ms, 10s or 5m, not ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  const ms = Number(match[1]) * unit;
  if (ms < 1) throw new OutpostError('CLI_USAGE_INVALID', `--${name} must be at least 1 ms`);
  return ms;
}

export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length + (s.value === undefined ? 0 : s.value.length + 1)), 4) + 4;
  const lines = specs.map((s) => `  --${`${s.name}${s.value === undefined ? '' : ` ${s.value}`}`.padEnd(width)}${s.help}`);
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n  --help${' '.repeat(width - 4)}show this help\n`;
}
