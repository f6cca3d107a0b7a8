import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseByteSize, parseDuration } from '@outpost/protocol';
import type { ConfigKeySpec } from './config-schema.js';

/** A value as found in the environment or a config file (JSON may give numbers, booleans, arrays). */
export type RawConfigValue = string | number | boolean | readonly string[];

/** A value after parsing: durations in ms, sizes in bytes, paths absolute, lists de-duplicated. */
export type ConfigValue = string | number | boolean | readonly string[];

export type ParseValueResult = { ok: true; value: ConfigValue } | { ok: false; expected: string };

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const INTEGER = /^[+-]?\d+$/;
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Parses one raw value by its key's type and bounds; relative paths resolve against `cwd`. */
export function parseConfigValue(spec: ConfigKeySpec, raw: RawConfigValue, cwd: string): ParseValueResult {
  if (spec.type === 'list') return parseList(raw);
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    return fail('a single value, not a list');
  }
  const text = spec.secret === true ? String(raw) : String(raw).trim();
  switch (spec.type) {
    case 'string':
      return parseString(spec, text);
    case 'host':
      return isHost(text) ? ok(text) : fail('a host name or IP address (e.g. 0.0.0.0, 192.168.1.10, outpost.example.com)');
    case 'port':
      return parseInteger(text, 0, 65_535, 'a port number from 0 to 65535 (0 = any free port)');
    case 'int':
    case 'positive-int': {
      const min = spec.min ?? (spec.type === 'positive-int' ? 1 : Number.MIN_SAFE_INTEGER);
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      return parseInteger(text, min, max, integerExpectation(min, max));
    }
    case 'duration':
      return parseDurationValue(spec, raw, text);
    case 'size':
      return parseSize(spec, text);
    case 'bool':
      return parseBool(raw, text);
    case 'enum': {
      const values = spec.values ?? [];
      const lower = text.toLowerCase();
      return values.includes(lower) ? ok(lower) : fail(`one of ${values.join(', ')}`);
    }
    case 'path':
      return text === '' ? fail('a file or directory path') : ok(resolve(cwd, text));
    case 'url':
      return parseHttpUrl(text);
  }
}

/** True for an IPv4/IPv6 address or an RFC 1123 host name. */
export function isHost(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** 3600000 → "1h", 1500 → "1500ms": the largest unit that divides the value. */
export function formatDuration(ms: number): string {
  const units: readonly [string, number][] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  for (const [unit, size] of units) if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** 1073741824 → "1 GiB", 1000 → "1000 B": the largest binary unit that divides the value. */
export function formatSize(bytes: number): string {
  const units: readonly [string, number][] = [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]];
  for (const [unit, size] of units) if (bytes !== 0 && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} B`;
}

function ok(value: ConfigValue): ParseValueResult {
  return { ok: true, value };
}

function fail(expected: string): ParseValueResult {
  return { ok: false, expected };
}

function parseString(spec: ConfigKeySpec, text: string): ParseValueResult {
  if (spec.minLength !== undefined && text.length < spec.minLength) {
    return fail(`at least ${spec.minLength} characters`);
  }
  const problem = spec.check?.(text);
  return problem === undefined ? ok(text) : fail(problem);
}

function integerExpectation(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return min === 1 ? 'a whole number of at least 1' : `a whole number of at least ${min}`;
  return `a whole number from ${min} to ${max}`;
}

function parseInteger(text: string, min: number, max: number, expected: string): ParseValueResult {
  if (!INTEGER.test(text)) return fail(expected);
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= min && value <= max ? ok(value) : fail(expected);
}

function parseDurationValue(spec: ConfigKeySpec, raw: RawConfigValue, text: string): ParseValueResult {
  const min = spec.min ?? 1;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${formatDuration(min)}` : `from ${formatDuration(min)} to ${formatDuration(max)}`;
  const expected = `a duration ${range}, with a unit (e.g. 500ms, 10s, 5m, 12h, 90d)`;
  // A bare number is ambiguous (seconds? milliseconds?): a unit is required.
  if (typeof raw === 'number' || INTEGER.test(text)) return fail(`${expected}; a bare number has no unit`);
  const parsed = parseDuration(text);
  return parsed.ok && parsed.value >= min && parsed.value <= max ? ok(parsed.value) : fail(expected);
}

function parseSize(spec: ConfigKeySpec, text: string): ParseValueResult {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${formatSize(min)}` : `from ${formatSize(min)} to ${formatSize(max)}`;
  const parsed = parseByteSize(text);
  return parsed.ok && parsed.value >= min && parsed.value <= max
    ? ok(parsed.value)
    : fail(`a size ${range} (bytes, or e.g. 512 KiB, 1 MiB, 1 GiB)`);
}

function parseBool(raw: RawConfigValue, text: string): ParseValueResult {
  if (typeof raw === 'boolean') return ok(raw);
  const lower = text.toLowerCase();
  if (TRUE_WORDS.has(lower)) return ok(true);
  if (FALSE_WORDS.has(lower)) return ok(false);
  return fail('true or false');
}

function parseHttpUrl(text: string): ParseValueResult {
  const expected = 'an http:// or https:// URL (e.g. http://localhost:8086)';
  if (!URL.canParse(text)) return fail(expected);
  const url = new URL(text);
  return url.protocol === 'http:' || url.protocol === 'https:' ? ok(text.replace(/\/+$/, '')) : fail(expected);
}

function parseList(raw: RawConfigValue): ParseValueResult {
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
  const expected = 'a comma-separated list of host names or IP addresses';
  if (items === undefined) return fail(expected);
  const names: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (typeof item !== 'string') return fail(expected);
    const name = item.trim();
    if (name === '') continue;
    if (!isHost(name)) return fail(`${expected}; "${name}" is not one`);
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    names.push(name);
  }
  return names.length > 0 ? ok(names) : fail(expected);
}
