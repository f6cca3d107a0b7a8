/*
 * docs/device-protocol.md must not drift from protocol/: its tables between `generated` markers
 * are rendered here from protocol's exports (topic kinds, limits, error codes) and must match the
 * committed file, and every JSON example must pass protocol's validators. Run with
 * OUTPOST_UPDATE_DOCS=1 to rewrite the generated tables after a change to protocol/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_LIMITS,
  DEVICE_TOPIC_KIND_NAMES,
  DEVICE_TOPIC_KINDS,
  ERROR_CODES,
  EnrollRequest,
  PAYLOAD_KINDS,
  PUBLISH_ERROR_CODES,
  RenewRequest,
  TOPIC_ERROR_CODES,
  isPayloadKind,
  topics,
  validateEnrollmentAnswer,
  validatePayload,
} from '@outpost/protocol';
import type { ProtocolLimits, PublishErrorCode, TopicErrorCode } from '@outpost/protocol';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';

const DOC_PATH = fileURLToPath(new URL('../../docs/device-protocol.md', import.meta.url));
const UPDATE = process.env.OUTPOST_UPDATE_DOCS === '1';

/** What a device does about each permanent refusal (the meaning comes from protocol's ERROR_CODES). */
const PUBLISH_ERROR_ADVICE: Readonly<Record<PublishErrorCode, string>> = {
  PAYLOAD_INVALID: 'send UTF-8 JSON with exactly the schema\'s fields (`reason` names the field at fault); strings and tag values within their lengths',
  PAYLOAD_TOO_LARGE: 'split the batch: stay under `maxPayloadBytes`',
  TOO_MANY_SAMPLES: 'split the batch: at most `maxSamples` samples',
  TOO_MANY_METRICS: 'send at most `maxMetrics` metrics per sample',
  NAME_INVALID: 'rename the metric or tag to match the name pattern',
  NAME_RESERVED: 'rename it: `time` and `device` are reserved, and a tag may not share a metric\'s name in a sample',
  TS_OUT_OF_RANGE: 'set the device clock (NTP); drop samples older than the window',
  TYPE_CONFLICT: 'keep one type per metric name fleet-wide; use a new name for a new type',
};

const TOPIC_ERROR_WHEN: Readonly<Record<TopicErrorCode, string>> = {
  TOPIC_INVALID: 'empty, an empty level, a NUL character',
  TOPIC_TOO_LONG: 'longer than the topic length limit',
  TOPIC_WILDCARD: '`+` or `#` in a publish, or a wildcard subscription',
  TOPIC_RESERVED: 'a `$` topic such as `$SYS/...`',
  TOPIC_FOREIGN: 'outside `devices/` and `integrations/`',
  TOPIC_UNKNOWN: 'no such topic under `devices/{id}/`',
  TOPIC_FORBIDDEN: "another device's topic, or the other direction",
  DEVICE_ID_INVALID: 'the id level is not a valid device id',
};

/** Each limit: its wire name in Limits (if it has one) and what exceeding it gets. */
const LIMIT_REFUSALS: Readonly<Record<keyof ProtocolLimits, { what: string; refusal: string }>> = {
  maxPayloadBytes: { what: 'largest payload, bytes (UTF-8, before parsing)', refusal: '`PAYLOAD_TOO_LARGE`' },
  maxSamples: { what: 'samples per TelemetryBatch', refusal: '`TOO_MANY_SAMPLES`' },
  maxMetrics: { what: 'metrics per sample', refusal: '`TOO_MANY_METRICS`' },
  msgsPerS: { what: 'publishes per second per device', refusal: 'temporary: PUBACK withheld (retry later)' },
  bytesPerS: { what: 'bytes per second per device', refusal: 'temporary: PUBACK withheld (retry later)' },
  namePattern: { what: 'metric and tag names', refusal: '`NAME_INVALID`' },
  reservedNames: { what: 'reserved metric and tag names', refusal: '`NAME_RESERVED`' },
  tsMaxPastMs: { what: 'how old a sample `ts` may be, ms', refusal: '`TS_OUT_OF_RANGE`' },
  tsMaxFutureMs: { what: 'how far ahead a sample `ts` may be, ms', refusal: '`TS_OUT_OF_RANGE`' },
  maxStringMetricLength: { what: 'characters of a string metric value', refusal: '`PAYLOAD_INVALID`' },
  maxTagValueLength: { what: 'characters of a tag value', refusal: '`PAYLOAD_INVALID`' },
};
const WIRE_LIMITS: readonly string[] = ['maxPayloadBytes', 'maxSamples', 'maxMetrics', 'msgsPerS', 'bytesPerS'];

const DIRECTION: Readonly<Record<string, string>> = { 'device-to-platform': 'device → platform', 'platform-to-device': 'platform → device' };

function renderValue(value: unknown): string {
  if (value instanceof RegExp) return `\`${value.source}\``;
  if (Array.isArray(value)) return value.map((v) => `\`${String(v)}\``).join(', ');
  return `${String(value)}`;
}

/** The generated sections, by name: rendered from protocol's exports only. */
function renderSections(): Record<string, string> {
  const topicRows = DEVICE_TOPIC_KIND_NAMES.map((kind) => {
    const info = DEVICE_TOPIC_KINDS[kind];
    const others = info.acceptedQos.filter((q) => q !== info.qos);
    const qos = others.length === 0 ? String(info.qos) : `${info.qos} (${others.join(', ')} accepted)`;
    return `| \`${topics[kind]('device-0').replace('/device-0/', '/{id}/')}\` | ${DIRECTION[info.direction] ?? info.direction} | ${qos} | ${info.retain ? 'yes' : 'no'} | ${info.payload} |`;
  });
  const limitRows = (Object.keys(DEFAULT_LIMITS) as (keyof ProtocolLimits)[]).map((key) => {
    const about = LIMIT_REFUSALS[key];
    return `| \`${key}\` | ${about.what} | ${renderValue(DEFAULT_LIMITS[key])} | ${WIRE_LIMITS.includes(key) ? 'yes' : 'no'} | ${about.refusal} |`;
  });
  return {
    topics: ['| topic | direction | QoS | retained | payload |', '| --- | --- | --- | --- | --- |', ...topicRows].join('\n'),
    'topic-errors': ['| code | when |', '| --- | --- |', ...TOPIC_ERROR_CODES.map((code) => `| \`${code}\` | ${TOPIC_ERROR_WHEN[code]} |`)].join('\n'),
    limits: ['| limit | what | default | in `limits` | over it |', '| --- | --- | --- | --- | --- |', ...limitRows].join('\n'),
    'publish-errors': [
      '| code | meaning | what to do |',
      '| --- | --- | --- |',
      ...PUBLISH_ERROR_CODES.map((code) => `| \`${code}\` | ${ERROR_CODES[code].meaning} | ${PUBLISH_ERROR_ADVICE[code]} |`),
    ].join('\n'),
  };
}

function withSections(doc: string, sections: Record<string, string>): string {
  let out = doc;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!pattern.test(out)) throw new Error(`docs/device-protocol.md has no <!-- generated:${name} --> … <!-- /generated:${name} --> section`);
    out = out.replace(pattern, (_all, open: string, close: string) => `${open}${body}\n${close}`);
  }
  return out;
}

interface Example {
  readonly kind: string;
  readonly line: number;
  readonly value: unknown;
}

function examplesOf(doc: string): Example[] {
  const found: Example[] = [];
  const re = /<!-- example: (\w+) -->\n```json\n([\s\S]*?)\n```/g;
  for (let match = re.exec(doc); match !== null; match = re.exec(doc)) {
    const line = doc.slice(0, match.index).split('\n').length;
    found.push({ kind: match[1] ?? '', line, value: JSON.parse(match[2] ?? '') as unknown });
  }
  return found;
}

const ErrorBody = Type.Object({ code: Type.String({ pattern: '^[A-Z][A-Z0-9_]+$' }), message: Type.String({ minLength: 1 }), details: Type.Optional(Type.Unknown()) }, { additionalProperties: false });
const checkers: Readonly<Record<string, { Check(value: unknown): boolean }>> = {
  EnrollRequest: Compile(EnrollRequest),
  RenewRequest: Compile(RenewRequest),
  ErrorBody: Compile(ErrorBody),
};

/** Checks one example with protocol's validator for its kind; undefined when it passes. */
function problemOf(example: Example): string | undefined {
  if (example.kind === 'EnrollmentAnswer') {
    const answer = validateEnrollmentAnswer(example.value);
    return answer.ok ? undefined : answer.reason;
  }
  const checker = checkers[example.kind];
  if (checker !== undefined) return checker.Check(example.value) ? undefined : `not a valid ${example.kind}`;
  if (!isPayloadKind(example.kind)) return `unknown example kind ${example.kind}`;
  // A telemetry example is checked as of its own first sample's time (the ts window is relative).
  const samples = (example.value as { samples?: { ts?: number }[] }).samples;
  const now = samples?.[0]?.ts ?? Date.now();
  const result = validatePayload(example.kind, example.value, { now });
  return result.ok ? undefined : `${result.code}: ${result.reason}`;
}

describe('docs/device-protocol.md', () => {
  const onDisk = readFileSync(DOC_PATH, 'utf8');
  const expected = withSections(onDisk, renderSections());
  if (UPDATE && expected !== onDisk) writeFileSync(DOC_PATH, expected);
  const committed = UPDATE ? expected : onDisk;

  it("has the generated tables as protocol/ renders them today (OUTPOST_UPDATE_DOCS=1 refreshes them)", () => {
    expect(committed).toBe(expected);
  });

  it('names every device topic, publish error code and topic error code of protocol', () => {
    for (const kind of DEVICE_TOPIC_KIND_NAMES) expect(committed).toContain(`\`devices/{id}/${DEVICE_TOPIC_KINDS[kind].suffix}\``);
    for (const code of [...PUBLISH_ERROR_CODES, ...TOPIC_ERROR_CODES]) expect(committed).toContain(`\`${code}\``);
  });

  it('has JSON examples that pass protocol\'s validators, one at least for every payload a device sends or receives', () => {
    const examples = examplesOf(committed);
    expect(examples.length).toBeGreaterThan(10);
    expect(examples.map((e) => [e.kind, e.line, problemOf(e)]).filter(([, , problem]) => problem !== undefined)).toEqual([]);
    const shown = new Set(examples.map((e) => e.kind));
    const devicePayloads = DEVICE_TOPIC_KIND_NAMES.map((kind) => DEVICE_TOPIC_KINDS[kind].payload).filter((p) => !['TrustSet', 'OtaJob'].includes(p));
    expect(devicePayloads.filter((p) => !shown.has(p))).toEqual([]);
    for (const kind of ['EnrollRequest', 'EnrollmentAnswer', 'RenewRequest', 'ErrorBody']) expect(shown).toContain(kind);
    expect(PAYLOAD_KINDS).toEqual(expect.arrayContaining([...shown].filter((k) => isPayloadKind(k))));
  });

  it('catches a broken example (the check can fail)', () => {
    expect(problemOf({ kind: 'TelemetryBatch', line: 0, value: { v: 1, seq: 1, samples: [{ ts: 1, metrics: { time: 1 } }] } })).toMatch(/^NAME_RESERVED/);
    expect(problemOf({ kind: 'CommandResult', line: 0, value: { v: 1, id: 'x', ok: true } })).toMatch(/^PAYLOAD_INVALID/);
    expect(problemOf({ kind: 'EnrollRequest', line: 0, value: { v: 1, token: 't' } })).toBe('not a valid EnrollRequest');
  });
});
