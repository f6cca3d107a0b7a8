import type { RawConfigValue } from './parse-value.js';

/** What a config file says, before the keys and values are checked against the schema. */
export interface ConfigFileContent {
  /** Keys in file order; later duplicates replace earlier ones. */
  readonly values: ReadonlyMap<string, RawConfigValue>;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * Reads the file given with `--config`. JSON when the name ends in `.json` or
 * the text starts with `{` (values may be strings, numbers, booleans, arrays of
 * strings or null = unset); otherwise `KEY=VALUE` lines, `#` comment lines,
 * an optional `export ` prefix, values optionally in single or double quotes.
 * A `#` inside an unquoted value is part of it (passwords may hold one); after a
 * closing quote it starts a comment.
 * Messages never quote the file's text, which may hold secrets.
 */
export function parseConfigFile(text: string, path: string): ConfigFileContent {
  const body = text.replace(/^\uFEFF/, '');
  return path.toLowerCase().endsWith('.json') || body.trimStart().startsWith('{')
    ? parseJsonFile(body, path)
    : parseEnvFile(body, path);
}

function parseJsonFile(text: string, path: string): ConfigFileContent {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { values: new Map(), errors: [`config file ${path} is not valid JSON${jsonErrorPlace(text, error)}`], warnings: [] };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { values: new Map(), errors: [`config file ${path} must hold a JSON object of settings, e.g. {"OUTPOST_HTTP_PORT": 8080}`], warnings: [] };
  }
  const values = new Map<string, RawConfigValue>();
  const errors: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values.set(key, value);
    } else if (Array.isArray(value) && value.every((item): item is string => typeof item === 'string')) {
      values.set(key, value);
    } else {
      errors.push(`${key} in config file ${path}: expected a string, number, boolean or list of strings`);
    }
  }
  return { values, errors, warnings: [] };
}

/** " at line L, column C" from the position in a JSON.parse message (the message itself may quote the text). */
function jsonErrorPlace(text: string, error: unknown): string {
  const match = error instanceof Error ? /position (\d+)/.exec(error.message) : null;
  if (match === null) return '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` (at line ${line}, column ${column})`;
}

function parseEnvFile(text: string, path: string): ConfigFileContent {
  const values = new Map<string, RawConfigValue>();
  const errors: string[] = [];
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = LINE.exec(line);
    const key = match?.[1];
    const rest = match?.[2];
    if (key === undefined || rest === undefined) {
      errors.push(`config file ${path} line ${index + 1}: expected KEY=VALUE or a # comment`);
      return;
    }
    const value = unquote(rest);
    if (value === undefined) {
      errors.push(`${key} in config file ${path} line ${index + 1}: a quoted value must end with its quote (a # comment may follow)`);
      return;
    }
    if (values.has(key)) warnings.push(`${key} is set twice in config file ${path}; line ${index + 1} wins`);
    values.set(key, value);
  });
  return { values, errors, warnings };
}

function unquote(value: string): string | undefined {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return value;
  const end = value.lastIndexOf(quote);
  const after = value.slice(end + 1).trim();
  if (end === 0 || (after !== '' && !after.startsWith('#'))) return undefined;
  const inner = value.slice(1, end);
  return quote === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner;
}
