/**
 * Checks a rule from the API (or a backtest) and lists *every* problem: the protocol schema,
 * then what the schema cannot say — the bound a condition needs, a range in order, a clear
 * threshold on the clearing side, a reserved metric name, groups and channels that exist.
 * Fills the defaults an operator may leave out (`v`, `scope`, `forMs`, `cooldownMs`, `enabled`,
 * and for absence rules `condition`).
 */
import { OutpostError, RESERVED_NAMES, Rule } from '@outpost/protocol';
import { Compile } from 'typebox/compile';

export interface RuleProblem {
  readonly path: string;
  readonly message: string;
}

export interface RuleCheckContext {
  /** Is there a notification channel with this id? */
  channelExists(id: string): boolean;
  /** Is there a device group of this name? Undefined when the registry cannot tell. */
  groupExists?(name: string): Promise<boolean>;
}

const ruleChecker = Compile(Rule);
const COMPARISONS = new Set(['>', '>=', '<', '<=', '==', '!=']);
const RANGES = new Set(['outside', 'inside']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pathOf(pointer: string): string {
  if (pointer === '') return 'rule';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

function schemaProblems(value: unknown): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const error of ruleChecker.Errors(value) as readonly SchemaError[]) {
    if (error.keyword === 'boolean') continue; // the additionalProperties entry below names the property
    const path = pathOf(error.instancePath);
    let message = error.message;
    if (error.keyword === 'additionalProperties') {
      const names = error.params['additionalProperties'];
      message = `unknown propert${Array.isArray(names) && names.length > 1 ? 'ies' : 'y'} ${Array.isArray(names) ? names.map((n) => JSON.stringify(n)).join(', ') : ''}`;
    } else if (error.keyword === 'enum' && Array.isArray(error.params['allowedValues'])) {
      message = `must be one of ${(error.params['allowedValues'] as unknown[]).map((a) => JSON.stringify(a)).join(', ')}`;
    } else if (error.keyword === 'required') {
      const missing = error.params['requiredProperties'];
      message = `missing ${Array.isArray(missing) ? missing.map((m) => JSON.stringify(m)).join(', ') : 'a required property'}`;
    } else if (error.keyword === 'pattern' && path === 'metric') {
      message = 'must be a metric name: a letter or _, then letters, digits, _ . - (at most 64)';
    }
    problems.push({ path, message });
  }
  return problems;
}

/** Defaults for what an operator may leave out; anything else is left for the schema to judge. */
export function withRuleDefaults(input: Record<string, unknown>, id: string): Record<string, unknown> {
  const rule: Record<string, unknown> = { v: 1, scope: {}, forMs: 0, cooldownMs: 0, enabled: true, ...input, id };
  if (rule['kind'] === 'absence' && rule['condition'] === undefined) rule['condition'] = '>';
  return rule;
}

/** The checks the schema cannot express, on a value whose fields may still be of the wrong type. */
function semanticProblems(rule: Record<string, unknown>): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const kind = rule['kind'];
  const condition = rule['condition'];
  const num = (name: string): number | undefined => (typeof rule[name] === 'number' ? (rule[name] as number) : undefined);
  if (typeof rule['metric'] === 'string' && RESERVED_NAMES.includes(rule['metric'])) {
    problems.push({ path: 'metric', message: `"${rule['metric']}" is a reserved name, never a metric` });
  }
  if (kind === 'absence') {
    if (rule['absenceMs'] === undefined) problems.push({ path: 'absenceMs', message: "required when kind is 'absence' (how long a device may stay silent)" });
    return problems;
  }
  if (rule['absenceMs'] !== undefined && (kind === 'threshold' || kind === 'rate')) {
    problems.push({ path: 'absenceMs', message: `applies to absence rules only, not to '${String(kind)}'` });
  }
  if (typeof condition === 'string' && RANGES.has(condition)) {
    const range = rule['range'];
    if (range === undefined) problems.push({ path: 'range', message: `required when condition is '${condition}': [lo, hi]` });
    else if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number' && range[0] > range[1]) {
      problems.push({ path: 'range', message: `lower bound ${range[0]} is above upper bound ${range[1]}` });
    }
    if (rule['clearThreshold'] !== undefined) problems.push({ path: 'clearThreshold', message: `has no meaning for condition '${condition}' (ranges have no hysteresis band)` });
  }
  if (typeof condition === 'string' && COMPARISONS.has(condition)) {
    if (rule['range'] !== undefined) problems.push({ path: 'range', message: `applies to 'inside'/'outside' only, not to condition '${condition}'` });
    const boundName = kind === 'rate' ? 'ratePerS' : 'threshold';
    const bound = num(boundName);
    if (rule[boundName] === undefined) problems.push({ path: boundName, message: `required when kind is '${String(kind)}' and condition is '${condition}'` });
    const clear = num('clearThreshold');
    if (clear !== undefined) {
      if (condition === '==' || condition === '!=') problems.push({ path: 'clearThreshold', message: `has no meaning for condition '${condition}'` });
      else if (bound !== undefined) {
        const above = condition === '>' || condition === '>=';
        if (above ? clear > bound : clear < bound) {
          problems.push({ path: 'clearThreshold', message: `${clear} is on the firing side of ${boundName} ${bound}: a '${condition}' rule clears ${above ? 'below' : 'above'} it` });
        }
      }
    }
  }
  if (kind === 'threshold' && rule['ratePerS'] !== undefined) problems.push({ path: 'ratePerS', message: "applies to rate rules only; a threshold rule compares with 'threshold'" });
  return problems;
}

async function referenceProblems(rule: Record<string, unknown>, ctx: RuleCheckContext): Promise<RuleProblem[]> {
  const problems: RuleProblem[] = [];
  const channels = rule['channels'];
  if (Array.isArray(channels)) {
    channels.forEach((id, i) => {
      if (typeof id === 'string' && !ctx.channelExists(id)) problems.push({ path: `channels[${i}]`, message: `no notification channel "${id}"` });
    });
  }
  const scope = rule['scope'];
  const groups = isRecord(scope) ? scope['groups'] : undefined;
  if (Array.isArray(groups) && ctx.groupExists !== undefined) {
    for (const [i, name] of groups.entries()) {
      if (typeof name === 'string' && !(await ctx.groupExists(name))) problems.push({ path: `scope.groups[${i}]`, message: `no device group "${name}"` });
    }
  }
  return problems;
}

/** Every problem of a candidate rule (already given its defaults), in field order of discovery. */
export async function ruleProblems(candidate: Record<string, unknown>, ctx: RuleCheckContext): Promise<RuleProblem[]> {
  return [...schemaProblems(candidate), ...semanticProblems(candidate), ...(await referenceProblems(candidate, ctx))];
}

/** A valid Rule, or RULE_INVALID (400) with every problem in `details`. */
export async function checkRule(input: unknown, id: string, ctx: RuleCheckContext): Promise<Rule> {
  if (!isRecord(input)) throw new OutpostError('RULE_INVALID', 'a rule must be a JSON object', { details: [{ path: 'rule', message: 'must be an object' }] });
  const candidate = withRuleDefaults(input, id);
  const problems = await ruleProblems(candidate, ctx);
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new OutpostError('RULE_INVALID', `invalid rule (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${summary}`.slice(0, 2000), { details: problems });
  }
  return candidate as unknown as Rule;
}
