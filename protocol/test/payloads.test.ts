import { describe, expect, it } from 'vitest';
import {
  PAYLOAD_KINDS,
  PAYLOAD_SCHEMAS,
  decodePayload,
  isPayloadKind,
} from '../src/index.js';
import type { PayloadKind } from '../src/index.js';
import { DELETE, mutate } from './fixtures/mutate.js';
import type { Segment } from './fixtures/mutate.js';
import { NOW, VALID } from './fixtures/payloads.js';

function decode(kind: PayloadKind, value: unknown): ReturnType<typeof decodePayload> {
  return decodePayload(kind, JSON.stringify(value), { now: NOW });
}

function wrongValueFor(value: unknown): unknown {
  if (typeof value === 'string') return 42;
  if (typeof value === 'number') return 'x';
  if (typeof value === 'boolean') return 'yes';
  return 'x';
}

/** Kinds whose every field is required in the minimal example (each is a top-level field). */
const fieldsOf = (kind: PayloadKind): [PayloadKind, string][] =>
  Object.keys(VALID[kind].minimal).map((field) => [kind, field]);

describe('payload registry', () => {
  it('holds one schema per payload of the SPEC payload table', () => {
    expect([...PAYLOAD_KINDS].sort()).toEqual(
      [
        'AgentConfig',
        'Alert',
        'AlertEvent',
        'Collector',
        'Command',
        'CommandResult',
        'DesiredConfig',
        'DeviceStatus',
        'EdgeAlert',
        'Limits',
        'Manifest',
        'OtaJob',
        'OtaProgress',
        'PublishError',
        'RegistryEvent',
        'RenewalRequest',
        'ReportedConfig',
        'Rule',
        'TelemetryBatch',
        'TrustSet',
      ].sort(),
    );
    expect(isPayloadKind('Rule')).toBe(true);
    expect(isPayloadKind('toString')).toBe(false);
  });

  it('closes every object schema against unknown fields but telemetry metrics and tags', () => {
    const open: string[] = [];
    const visit = (schema: unknown, where: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      const node = schema as Record<string, unknown>;
      if (node['type'] === 'object' && node['additionalProperties'] !== false) open.push(where);
      for (const [key, child] of Object.entries(node)) visit(child, `${where}.${key}`);
    };
    for (const kind of PAYLOAD_KINDS) visit(PAYLOAD_SCHEMAS[kind], kind);
    // Only telemetry metrics and tags are open: their names are checked by the codec (NAME_INVALID).
    expect(open).toEqual([
      'TelemetryBatch.properties.samples.items.properties.metrics',
      'TelemetryBatch.properties.samples.items.properties.tags',
    ]);
  });
});

describe('every payload', () => {
  it.each(PAYLOAD_KINDS)('accepts a minimal and a full %s', (kind) => {
    expect(decode(kind, VALID[kind].minimal)).toEqual({ ok: true, value: VALID[kind].minimal });
    expect(decode(kind, VALID[kind].full)).toEqual({ ok: true, value: VALID[kind].full });
  });

  it.each(PAYLOAD_KINDS)('refuses an unknown field in a %s', (kind) => {
    expect(decode(kind, { ...VALID[kind].full, extra: 1 })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'extra: unknown field',
      path: 'extra',
    });
  });

  it.each(PAYLOAD_KINDS)('refuses a %s that is not an object', (kind) => {
    expect(decode(kind, [VALID[kind].full])).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'payload: must be an object, got an array',
    });
  });

  it.each(PAYLOAD_KINDS.flatMap(fieldsOf))('refuses a %s without %s', (kind, field) => {
    const result = decode(kind, mutate(VALID[kind].minimal, [field], DELETE));
    expect(result).toMatchObject({ ok: false, code: 'PAYLOAD_INVALID', path: field });
    if (!result.ok) expect(result.reason).toMatch(new RegExp(`^${field}: required`));
  });

  it.each(PAYLOAD_KINDS.flatMap(fieldsOf))('refuses a %s whose %s has the wrong type', (kind, field) => {
    const original = (VALID[kind].minimal as Record<string, unknown>)[field];
    const result = decode(kind, mutate(VALID[kind].minimal, [field], wrongValueFor(original)));
    expect(result).toMatchObject({ ok: false, code: 'PAYLOAD_INVALID' });
    if (!result.ok) expect(result.reason.startsWith(`${field}`)).toBe(true);
  });

  it.each(PAYLOAD_KINDS.filter((kind) => 'v' in VALID[kind].full))('refuses a %s of another version', (kind) => {
    expect(decode(kind, { ...VALID[kind].full, v: 2 })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'v: must be 1, got 2',
      path: 'v',
    });
  });
});

const long = (length: number): string => 'x'.repeat(length);
const many = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, index) => make(index));
const manyKeys = (count: number): Record<string, string> => Object.fromEntries(many(count, (index) => [`k${index}`, 'v']));

type Row = [kind: PayloadKind, label: string, path: Segment[], value: unknown, reason: string];

const INVALID: Row[] = [
  ['DeviceStatus', 'an unknown state', ['state'], 'gone', `state: must be one of 'online', 'offline', got "gone"`],
  ['DeviceStatus', 'an offline status with a time', [], { v: 1, state: 'offline', at: NOW }, 'at: unknown field'],
  ['DeviceStatus', 'a firmware slot other than a or b', ['firmware', 'slot'], 'c', `firmware.slot: must be one of 'a', 'b', got "c"`],
  ['DeviceStatus', 'an agent version that is not semver', ['agentVersion'], '1.4', 'agentVersion: must be a semantic version such as 1.2.3, got "1.4"'],
  ['DeviceStatus', 'a negative outbox depth', ['outbox', 'depth'], -1, 'outbox.depth: must be at least 0, got -1'],
  ['DeviceStatus', 'a fractional uptime', ['uptimeS'], 1.5, 'uptimeS: must be an integer, got 1.5'],
  ['DeviceStatus', 'a time before the epoch', ['at'], -1, 'at: must be at least 0, got -1'],
  ['DeviceStatus', 'a time past what a Date holds', ['at'], 8_640_000_000_000_001, 'at: must be at most 8640000000000000, got 8640000000000001'],
  ['EdgeAlert', 'an unknown severity', ['severity'], 'fatal', `severity: must be one of 'info', 'warning', 'critical', got "fatal"`],
  ['EdgeAlert', 'a bad metric name', ['metric'], '1x', 'metric: "1x" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['EdgeAlert', 'a string value', ['value'], 'hot', 'value: must be a number or null, got "hot"'],
  ['EdgeAlert', 'a fractional ts', ['ts'], 1.5, 'ts: must be an integer, got 1.5'],
  ['DesiredConfig', 'too many collectors', ['collectors'], many(65, () => ({ type: 'system', intervalMs: 1000 })), 'collectors: 65 items, the limit is 64'],
  ['DesiredConfig', 'an unknown collector type', ['collectors', 0, 'type'], 'gps', `collectors[0].type: must be one of 'system', 'w1', 'command', 'simulated', got "gps"`],
  ['DesiredConfig', 'a collector without a type', ['collectors', 0, 'type'], DELETE, `collectors[0].type: required field missing (one of 'system', 'w1', 'command', 'simulated')`],
  ['DesiredConfig', 'a zero interval', ['collectors', 0, 'intervalMs'], 0, 'collectors[0].intervalMs: must be at least 1, got 0'],
  ['DesiredConfig', 'a command collector without timeout', ['collectors', 2, 'timeoutMs'], DELETE, 'collectors[2].timeoutMs: required field missing'],
  ['DesiredConfig', 'an unknown command format', ['collectors', 2, 'format'], 'xml', `collectors[2].format: must be one of 'kv', 'json', got "xml"`],
  ['DesiredConfig', 'a field of another collector type', ['collectors', 0, 'cmd'], 'ls', 'collectors[0].cmd: unknown field'],
  ['DesiredConfig', 'a simulated collector without metrics', ['collectors', 3, 'metrics'], {}, 'collectors[3].metrics: must have at least 1 field'],
  ['DesiredConfig', 'a simulated metric with a bad name', ['collectors', 3, 'metrics', 'bad name'], { base: 1 }, 'collectors[3].metrics["bad name"]: field name "bad name" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['DesiredConfig', 'an unknown window function', ['processing', 'window', 'fn'], 'median', `processing.window.fn: must be one of 'mean', 'min', 'max', 'last', got "median"`],
  ['DesiredConfig', 'a negative deadband', ['processing', 'deadband', 'temp'], -1, 'processing.deadband.temp: must be at least 0, got -1'],
  ['DesiredConfig', 'limits without maxSamples', ['limits', 'maxSamples'], DELETE, 'limits.maxSamples: required field missing'],
  ['DesiredConfig', 'a zero limit', ['limits', 'maxSamples'], 0, 'limits.maxSamples: must be at least 1, got 0'],
  ['DesiredConfig', 'an invalid rule', ['rules', 1, 'condition'], '~', `rules[1].condition: must be one of '>', '>=', '<', '<=', '==', '!=', 'outside', 'inside', got "~"`],
  ['DesiredConfig', 'a reconnect minimum above its maximum', ['reconnect', 'minMs'], 120_000, 'reconnect.maxMs: 60000 is below minMs 120000'],
  ['DesiredConfig', 'a fractional version', ['version'], 1.5, 'version: must be an integer, got 1.5'],
  ['Collector', 'a bad w1 sensor id', [], { type: 'w1', intervalMs: 1000, sensors: ['../etc'] }, 'sensors[0]: "../etc" does not match ^[A-Za-z0-9_.-]{1,64}$'],
  ['Collector', 'a negative seed', [], { type: 'simulated', intervalMs: 1000, seed: -1, metrics: { t: { base: 1 } } }, 'seed: must be at least 0, got -1'],
  ['Collector', 'a zero period', [], { type: 'simulated', intervalMs: 1000, metrics: { t: { base: 1, periodS: 0 } } }, 'metrics.t.periodS: must be greater than 0, got 0'],
  ['Collector', 'an empty command', ['cmd'], '', 'cmd: must not be empty'],
  ['Limits', 'a fractional limit', ['bytesPerS'], 1.5, 'bytesPerS: must be an integer, got 1.5'],
  ['ReportedConfig', 'a negative version', ['version'], -1, 'version: must be at least 0, got -1'],
  ['ReportedConfig', 'an error without message', ['error', 'message'], DELETE, 'error.message: required field missing'],
  ['Command', 'a nested argument', ['args', 'color'], { r: 1 }, 'args.color: must be a string, a number or a boolean, got an object'],
  ['Command', 'an argument with a bad name', ['args', 'bad key'], 1, 'args["bad key"]: field name "bad key" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['Command', 'too many arguments', ['args'], manyKeys(65), 'args: 65 fields, the limit is 64'],
  ['Command', 'a reserved-looking name', ['name'], 'rm -rf', 'name: "rm -rf" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['Command', 'an over-long id', ['id'], long(129), 'id: 129 characters, the limit is 128'],
  ['CommandResult', 'output over 64 KiB', ['output'], long(65_537), 'output: 65537 characters, the limit is 65536'],
  ['CommandResult', 'a non-boolean ok', ['ok'], 'yes', 'ok: must be a boolean, got "yes"'],
  ['TrustSet', 'a key of another algorithm', ['keys', 0, 'alg'], 'rsa', `keys[0].alg: must be 'ed25519', got "rsa"`],
  ['TrustSet', 'a public key that is not base64', ['keys', 0, 'publicKey'], 'not base64!', 'keys[0].publicKey: must be base64 text, got "not base64!"'],
  ['TrustSet', 'too many keys', ['keys'], many(33, (index) => ({ keyId: `k${index}`, alg: 'ed25519', publicKey: 'AAAA' })), 'keys: 33 items, the limit is 32'],
  ['TrustSet', 'a signature without sig', ['signatures', 0, 'sig'], DELETE, 'signatures[0].sig: required field missing'],
  ['OtaJob', 'an ftp url', ['url'], 'ftp://x/y', 'url: must be an http(s) URL or an absolute path, got "ftp://x/y"'],
  ['OtaJob', 'an upper-case sha256', ['manifest', 'sha256'], 'A'.repeat(64), `manifest.sha256: must be 64 lower-case hex digits, got "${'A'.repeat(57)}..."`],
  ['OtaJob', 'a zero confirm deadline', ['confirmDeadlineS'], 0, 'confirmDeadlineS: must be at least 1, got 0'],
  ['OtaJob', 'a non-boolean cancel', ['cancel'], 1, 'cancel: must be a boolean, got 1'],
  ['OtaProgress', 'a percent above 100', ['percent'], 101, 'percent: must be at most 100, got 101'],
  ['OtaProgress', 'an unknown state', ['state'], 'done', `state: must be one of 'queued', 'downloading', 'verifying', 'installing', 'activating', 'health-checking', 'succeeded', 'failed', 'rolled-back', got "done"`],
  ['PublishError', 'an unknown code', ['code'], 'NOPE', `code: must be one of 'PAYLOAD_INVALID', 'PAYLOAD_TOO_LARGE', 'TOO_MANY_SAMPLES', 'TOO_MANY_METRICS', 'NAME_INVALID', 'NAME_RESERVED', 'TS_OUT_OF_RANGE', 'TYPE_CONFLICT', got "NOPE"`],
  ['PublishError', 'an over-long reason', ['reason'], long(1025), 'reason: 1025 characters, the limit is 1024'],
  ['PublishError', 'an empty topic', ['topic'], '', 'topic: must not be empty'],
  ['Manifest', 'a version that is not semver', ['version'], 'v1', 'version: must be a semantic version such as 1.2.3, got "v1"'],
  ['Manifest', 'no hardware', ['hardware'], [], 'hardware: must have at least 1 item'],
  ['Manifest', 'a path as name', ['name'], '../etc', 'name: "../etc" does not match ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'],
  ['Manifest', 'a negative size', ['size'], -1, 'size: must be at least 0, got -1'],
  ['Manifest', 'a health check without attempts', ['healthCheck', 'attempts'], 0, 'healthCheck.attempts: must be at least 1, got 0'],
  ['Manifest', 'an unknown type', ['type'], 'deb', `type: must be one of 'archive', 'agent', 'script', got "deb"`],
  ['Rule', 'a one-element range', ['range'], [1], 'range: must have exactly 2 items, got 1'],
  ['Rule', 'a range of strings', ['range'], ['a', 'b'], 'range[0]: must be a number, got "a"'],
  ['Rule', 'a scope with a bad device id', ['scope', 'devices', 0], 'PI_1', 'scope.devices[0]: "PI_1" does not match ^[a-z0-9][a-z0-9-]{2,63}$'],
  ['Rule', 'too many labels', ['labels'], manyKeys(33), 'labels: 33 fields, the limit is 32'],
  ['Rule', 'a label with a control character', ['labels', 'team'], 'a\nb', 'labels.team: must be text without control characters, got "a\\nb"'],
  ['Rule', 'an empty name', ['name'], '', 'name: must not be empty'],
  ['Rule', 'an unknown window function', ['window', 'fn'], 'p99', `window.fn: must be one of 'mean', 'min', 'max', got "p99"`],
  ['AlertEvent', 'a bad device id', ['deviceId'], 'AB', 'deviceId: "AB" does not match ^[a-z0-9][a-z0-9-]{2,63}$'],
  ['AlertEvent', 'no maintenance flag', ['maintenance'], DELETE, 'maintenance: required field missing'],
  ['Alert', 'an unknown state', ['state'], 'open', `state: must be one of 'firing', 'acknowledged', 'resolved', got "open"`],
  ['Alert', 'an ack without author', ['ack', 'by'], DELETE, 'ack.by: required field missing'],
  ['AgentConfig', 'limits, which only DesiredConfig carries', ['limits'], { maxSamples: 1 }, 'limits: unknown field'],
  ['AgentConfig', 'a collector of an unknown type', ['collectors', 0, 'type'], 'gps', `collectors[0].type: must be one of 'system', 'w1', 'command', 'simulated', got "gps"`],
  ['RegistryEvent', 'an unknown type', ['type'], 'created', `type: must be one of 'enrolled', 'renewed', 'suspended', 'resumed', 'revoked', 'cert-revoked', 'deleted', 'group-changed', 'tags-changed', 'config-changed', 'command-created', got "created"`],
  ['RegistryEvent', 'a serial that is not hex', ['serial'], 'xyz', 'serial: "xyz" does not match ^[0-9A-Fa-f]{1,64}$'],
  ['RenewalRequest', 'a CSR that is not PEM', ['csr'], 'MIIB', 'csr: must be a PEM certificate request, got "MIIB"'],
  ['RenewalRequest', 'an over-long CSR', ['csr'], long(8193), 'csr: 8193 characters, the limit is 8192'],
  ['RenewalRequest', 'a bad device id', ['deviceId'], '-pi', 'deviceId: "-pi" does not match ^[a-z0-9][a-z0-9-]{2,63}$'],
];

describe('invalid payloads', () => {
  it.each(INVALID)('refuses a %s with %s', (kind, _case, path, value, reason) => {
    const payload = path.length === 0 ? value : mutate(VALID[kind].full, path, value);
    const result = decode(kind, payload);
    expect(result).toMatchObject({ ok: false, code: 'PAYLOAD_INVALID', reason });
    if (!result.ok) expect(reason.startsWith(`${result.path ?? 'payload'}: `)).toBe(true);
  });
});
