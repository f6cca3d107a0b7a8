import { NAME_RE, RESERVED_NAMES } from '@outpost/protocol';

/** Why `name` cannot be a metric name (protocol's name rule, reserved names), or undefined when it can. */
export function metricNameProblem(name: string): string | undefined {
  if (!NAME_RE.test(name) || name === '__proto__') return `metric name ${JSON.stringify(name.slice(0, 80))} does not match ${NAME_RE.source}`;
  if (RESERVED_NAMES.includes(name)) return `metric name ${JSON.stringify(name)} is reserved`;
  return undefined;
}
