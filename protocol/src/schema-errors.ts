/**
 * Explains why a value fails a schema, as one precise problem: the JSON path of the field at
 * fault and a short sentence. Runs only after the compiled validator said "invalid", walks the
 * schema (so its depth is the schema's, not the input's) and understands the keywords the
 * payload schemas use. A pattern with a `description` is explained with it (`must be a semantic
 * version such as 1.2.3`), other patterns are quoted. Discriminated unions (`type`, `state`) are
 * explained against the branch the discriminator selects, so a collector's error names its own
 * field.
 */
import { pointerToPath, quote } from './json-path.js';
import type { PathSegment } from './json-path.js';

export interface SchemaProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

type Schema = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isSchema: (value: unknown) => value is Schema = isRecord;

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const ARTICLES: Readonly<Record<string, string>> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function describeType(type: string): string {
  return ARTICLES[type] ?? type;
}

function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return quote(value);
  return describeType(jsonType(value));
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

function matchesType(type: unknown, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
    case 'boolean':
      return typeof value === type;
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    default:
      return true;
  }
}

function problem(path: readonly PathSegment[], message: string): SchemaProblem {
  return { path, message };
}

/** The first problem of `value` against `schema`, or undefined when this walker finds none. */
export function explainSchemaError(schema: unknown, value: unknown, path: readonly PathSegment[] = []): SchemaProblem | undefined {
  if (!isSchema(schema)) return undefined;
  if (Array.isArray(schema['anyOf'])) return explainAnyOf(schema['anyOf'], value, path);
  if (schema['type'] !== undefined && !matchesType(schema['type'], value)) {
    const expected = String(schema['type']);
    if (typeof value === 'number' && !Number.isFinite(value)) return problem(path, `must be a finite number, got ${value}`);
    return problem(path, `must be ${describeType(expected)}, got ${describeValue(value)}`);
  }
  if ('const' in schema && value !== schema['const']) {
    return problem(path, `must be ${literal(schema['const'])}, got ${describeValue(value)}`);
  }
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(value)) {
    return problem(path, `must be one of ${schema['enum'].map(literal).join(', ')}, got ${describeValue(value)}`);
  }
  if (typeof value === 'string') return explainString(schema, value, path);
  if (typeof value === 'number') return explainNumber(schema, value, path);
  if (Array.isArray(value)) return explainArray(schema, value, path);
  if (isRecord(value)) return explainObject(schema, value, path);
  return undefined;
}

function explainString(schema: Schema, value: string, path: readonly PathSegment[]): SchemaProblem | undefined {
  const { minLength, maxLength, pattern } = schema;
  if (typeof minLength === 'number' && value.length < minLength) {
    return problem(path, minLength === 1 ? 'must not be empty' : `must have at least ${minLength} characters`);
  }
  if (typeof maxLength === 'number' && value.length > maxLength) {
    return problem(path, `${value.length} characters, the limit is ${maxLength}`);
  }
  if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) {
    const description = schema['description'];
    return typeof description === 'string'
      ? problem(path, `must be ${description}, got ${quote(value)}`)
      : problem(path, `${quote(value)} does not match ${pattern}`);
  }
  return undefined;
}

function explainNumber(schema: Schema, value: number, path: readonly PathSegment[]): SchemaProblem | undefined {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  if (typeof minimum === 'number' && value < minimum) return problem(path, `must be at least ${minimum}, got ${value}`);
  if (typeof maximum === 'number' && value > maximum) return problem(path, `must be at most ${maximum}, got ${value}`);
  if (typeof exclusiveMinimum === 'number' && value <= exclusiveMinimum) {
    return problem(path, `must be greater than ${exclusiveMinimum}, got ${value}`);
  }
  if (typeof exclusiveMaximum === 'number' && value >= exclusiveMaximum) {
    return problem(path, `must be less than ${exclusiveMaximum}, got ${value}`);
  }
  return undefined;
}

function explainArray(schema: Schema, value: readonly unknown[], path: readonly PathSegment[]): SchemaProblem | undefined {
  const { minItems, maxItems, items } = schema;
  if (Array.isArray(items)) {
    if (value.length !== items.length) return problem(path, `must have exactly ${items.length} items, got ${value.length}`);
    for (const [index, item] of items.entries()) {
      const found = explainSchemaError(item, value[index], [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof minItems === 'number' && value.length < minItems) {
    return problem(path, `must have at least ${minItems} item${minItems === 1 ? '' : 's'}`);
  }
  if (typeof maxItems === 'number' && value.length > maxItems) {
    return problem(path, `${value.length} items, the limit is ${maxItems}`);
  }
  if (isSchema(items)) {
    for (const [index, item] of value.entries()) {
      const found = explainSchemaError(items, item, [...path, index]);
      if (found) return found;
    }
  }
  return undefined;
}

function explainObject(
  schema: Schema,
  value: Readonly<Record<string, unknown>>,
  path: readonly PathSegment[],
): SchemaProblem | undefined {
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  const patterns = isSchema(schema['patternProperties']) ? Object.entries(schema['patternProperties']) : [];
  const keys = Object.keys(value);
  const { required, minProperties, maxProperties } = schema;
  if (Array.isArray(required)) {
    for (const name of required) {
      if (typeof name === 'string' && !Object.hasOwn(value, name)) return problem([...path, name], 'required field missing');
    }
  }
  if (typeof minProperties === 'number' && keys.length < minProperties) {
    return problem(path, `must have at least ${minProperties} field${minProperties === 1 ? '' : 's'}`);
  }
  if (typeof maxProperties === 'number' && keys.length > maxProperties) {
    return problem(path, `${keys.length} fields, the limit is ${maxProperties}`);
  }
  const regexps = patterns.map(([source, sub]) => [new RegExp(source, 'u'), sub] as const);
  for (const key of keys) {
    const child = value[key];
    const declared = Object.hasOwn(properties, key);
    if (declared) {
      const found = explainSchemaError(properties[key], child, [...path, key]);
      if (found) return found;
    }
    const matching = regexps.filter(([re]) => re.test(key));
    for (const [, sub] of matching) {
      const found = explainSchemaError(sub, child, [...path, key]);
      if (found) return found;
    }
    if (!declared && matching.length === 0 && schema['additionalProperties'] === false) {
      return regexps.length > 0
        ? problem([...path, key], `field name ${quote(key)} does not match ${regexps.map(([re]) => re.source).join(' or ')}`)
        : problem([...path, key], 'unknown field');
    }
  }
  return undefined;
}

/** The property every object branch fixes to a different `const` (e.g. `type`), if there is one. */
function discriminator(branches: readonly Schema[]): string | undefined {
  const first = branches[0]?.['properties'];
  if (!isSchema(first)) return undefined;
  return Object.keys(first).find((key) => {
    const values = branches.map((branch) => {
      const properties = branch['properties'];
      return isSchema(properties) && isSchema(properties[key]) && 'const' in properties[key] ? properties[key]['const'] : undefined;
    });
    return values.every((value) => value !== undefined) && new Set(values).size === values.length;
  });
}

function constOf(branch: Schema, key: string): unknown {
  const properties = branch['properties'];
  const property = isSchema(properties) ? properties[key] : undefined;
  return isSchema(property) ? property['const'] : undefined;
}

function explainAnyOf(anyOf: readonly unknown[], value: unknown, path: readonly PathSegment[]): SchemaProblem | undefined {
  const branches = anyOf.filter(isSchema);
  if (branches.every((branch) => 'const' in branch)) {
    if (branches.some((branch) => branch['const'] === value)) return undefined;
    return problem(path, `must be one of ${branches.map((branch) => literal(branch['const'])).join(', ')}, got ${describeValue(value)}`);
  }
  const key = isRecord(value) ? discriminator(branches) : undefined;
  if (key !== undefined && isRecord(value)) {
    const selected = branches.find((branch) => constOf(branch, key) === value[key]);
    if (selected) return explainSchemaError(selected, value, path);
    const allowed = branches.map((branch) => literal(constOf(branch, key))).join(', ');
    if (!Object.hasOwn(value, key)) return problem([...path, key], `required field missing (one of ${allowed})`);
    return problem([...path, key], `must be one of ${allowed}, got ${describeValue(value[key])}`);
  }
  const sameType = branches.filter((branch) => matchesType(branch['type'], value));
  if (sameType.length > 0) {
    const explained = sameType.map((branch) => explainSchemaError(branch, value, path));
    // A branch that finds nothing wrong makes the value valid; else the one that got furthest explains best.
    let best: SchemaProblem | undefined;
    for (const found of explained) {
      if (found === undefined) return undefined;
      if (best === undefined || found.path.length > best.path.length) best = found;
    }
    return best;
  }
  const types = [...new Set(branches.map((branch) => describeType(String(branch['type']))))];
  const list = types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1) ?? ''}` : (types[0] ?? 'valid');
  return problem(path, `must be ${list}, got ${describeValue(value)}`);
}

/** A validator's own error, the fallback for keywords this walker does not know. */
export interface ValidatorError {
  readonly instancePath: string;
  readonly message: string;
}

/**
 * The problem of a value its validator refused: this walker's explanation, else the
 * validator's first error (asked for only then), else a generic one.
 */
export function schemaProblem(schema: unknown, value: unknown, validatorErrors: () => readonly ValidatorError[]): SchemaProblem {
  const explained = explainSchemaError(schema, value);
  if (explained) return explained;
  const first = validatorErrors()[0];
  if (first) return problem(pointerToPath(first.instancePath), first.message);
  return problem([], 'does not match its schema');
}
