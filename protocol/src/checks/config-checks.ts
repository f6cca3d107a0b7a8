/**
 * Cross-field checks the schemas cannot express: what a rule needs for its kind and
 * condition, ordered bounds, and the serial of a `cert-revoked` event.
 */
import type { PublishErrorCode } from '../errors.js';
import type { Failure } from '../result.js';
import { fail } from '../result.js';
import { formatPath } from '../json-path.js';
import type { PathSegment } from '../json-path.js';
import type { Reconnect } from '../schemas/desired-config.js';
import type { RegistryEvent } from '../schemas/registry-event.js';
import type { Rule } from '../schemas/rule.js';

type Problem = Failure<PublishErrorCode>;

function invalid(path: readonly PathSegment[], message: string): Problem {
  const where = formatPath(path);
  return fail('PAYLOAD_INVALID', `${where}: ${message}`, where);
}

const RANGE_CONDITIONS: ReadonlySet<string> = new Set(['outside', 'inside']);

/**
 * A rule's requirements: `absence` needs `absenceMs`; `outside`/`inside` need `range` with
 * lo ≤ hi; other conditions need `threshold` (kind `threshold`) or `ratePerS` (kind `rate`).
 */
export function checkRule(rule: Rule, base: readonly PathSegment[] = []): Problem | undefined {
  if (rule.kind === 'absence') {
    return rule.absenceMs === undefined ? invalid([...base, 'absenceMs'], "required when kind is 'absence'") : undefined;
  }
  if (RANGE_CONDITIONS.has(rule.condition)) {
    if (rule.range === undefined) return invalid([...base, 'range'], `required when condition is '${rule.condition}'`);
    const [lo, hi] = rule.range;
    if (lo > hi) return invalid([...base, 'range'], `lower bound ${lo} is above upper bound ${hi}`);
    return undefined;
  }
  const field = rule.kind === 'rate' ? 'ratePerS' : 'threshold';
  if (rule[field] === undefined) {
    return invalid([...base, field], `required when kind is '${rule.kind}' and condition is '${rule.condition}'`);
  }
  return undefined;
}

export function checkRules(rules: readonly Rule[] | undefined, base: readonly PathSegment[]): Problem | undefined {
  for (const [index, rule] of (rules ?? []).entries()) {
    const found = checkRule(rule, [...base, index]);
    if (found) return found;
  }
  return undefined;
}

export function checkReconnect(reconnect: Reconnect | undefined, base: readonly PathSegment[]): Problem | undefined {
  if (reconnect !== undefined && reconnect.minMs > reconnect.maxMs) {
    return invalid([...base, 'maxMs'], `${reconnect.maxMs} is below minMs ${reconnect.minMs}`);
  }
  return undefined;
}

/** Configuration (DesiredConfig or agent.json): its rules and its reconnect bounds. */
export function checkConfig(config: { rules?: readonly Rule[]; reconnect?: Reconnect }): Problem | undefined {
  return checkRules(config.rules, ['rules']) ?? checkReconnect(config.reconnect, ['reconnect']);
}

export function checkRegistryEvent(event: RegistryEvent): Problem | undefined {
  if (event.type === 'cert-revoked' && event.serial === undefined) {
    return invalid(['serial'], "required when type is 'cert-revoked'");
  }
  if (event.deviceId === undefined && event.type !== 'cert-revoked') {
    return invalid(['deviceId'], "required unless type is 'cert-revoked' (of an integration certificate)");
  }
  return undefined;
}
