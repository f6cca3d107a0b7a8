/**
 * Parses a command collector's output: `kv` (one `name=value` per line; blank lines and `#`
 * comments ignored) or `json` (one object of name → value). Values must be finite numbers or
 * booleans (`true`/`false`); every other line or value is a problem, reported and left out,
 * while the good metrics are kept.
 */
import type { Metrics } from './collector-source.js';
import { metricNameProblem } from './metric-names.js';

export interface ParsedOutput {
  readonly metrics: Metrics;
  readonly problems: readonly string[];
}

const NUMBER_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

function kvValue(text: string): number | boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (!NUMBER_RE.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function put(metrics: Metrics, problems: string[], name: string, value: unknown, shown: string): void {
  const nameProblem = metricNameProblem(name);
  if (nameProblem !== undefined) {
    problems.push(nameProblem);
  } else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') {
    metrics[name] = value;
  } else {
    problems.push(`value of ${name} is not a number: ${shown.slice(0, 80)}`);
  }
}

export function parseKv(output: string): ParsedOutput {
  const metrics: Metrics = {};
  const problems: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) {
      problems.push(`not a name=value line: ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const text = line.slice(equals + 1).trim();
    put(metrics, problems, line.slice(0, equals).trim(), kvValue(text), JSON.stringify(text));
  }
  return { metrics, problems };
}

export function parseJsonOutput(output: string): ParsedOutput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch (error) {
    return { metrics: {}, problems: [`output is not JSON: ${(error as Error).message.slice(0, 120)}`] };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { metrics: {}, problems: ['output is not a JSON object of name → number'] };
  }
  const metrics: Metrics = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(parsed)) put(metrics, problems, name, value, JSON.stringify(value) ?? String(value));
  return { metrics, problems };
}
