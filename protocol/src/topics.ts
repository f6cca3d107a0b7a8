/**
 * Topic builders and the topic parser. Topic strings are written only here (STYLE rule 5).
 * Builders refuse an invalid device id (they would build a wildcard or a foreign topic);
 * the parser never throws and says why a topic is refused.
 */
import { OutpostError } from './errors.js';
import type { TopicErrorCode } from './errors.js';
import type { Result } from './result.js';
import { fail, ok } from './result.js';
import { DEVICE_TOPIC_KIND_NAMES, DEVICE_TOPIC_KINDS, INTEGRATION_TOPIC_KINDS } from './topic-kinds.js';
import type { DeviceTopicKind, IntegrationTopicKind, TopicDirection } from './topic-kinds.js';

/** Device ids: the certificate CN (SPEC "Identity"). */
export const DEVICE_ID_RE = /^[a-z0-9][a-z0-9-]{2,63}$/;

/** Longest topic accepted, in characters; Outpost's longest is well under 100. */
export const MAX_TOPIC_LENGTH = 256;

const DEVICES_PREFIX = 'devices';
const INTEGRATIONS_PREFIX = 'integrations';

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_RE.test(value);
}

/** The topic of `kind` for device `deviceId`. Throws OutpostError DEVICE_ID_INVALID on a bad id. */
export function deviceTopic(kind: DeviceTopicKind, deviceId: string): string {
  if (!isDeviceId(deviceId)) {
    throw new OutpostError('DEVICE_ID_INVALID', `invalid device id ${JSON.stringify(String(deviceId)).slice(0, 80)}`);
  }
  return `${DEVICES_PREFIX}/${deviceId}/${DEVICE_TOPIC_KINDS[kind].suffix}`;
}

type DeviceTopicBuilders = { readonly [K in DeviceTopicKind]: (deviceId: string) => string };
type IntegrationTopicBuilders = { readonly [K in IntegrationTopicKind]: () => string };

/** Builders for every topic: `topics.telemetry(id)` → `devices/{id}/telemetry`, `topics.integrationsAlerts()`. */
export const topics: DeviceTopicBuilders & IntegrationTopicBuilders = Object.freeze({
  telemetry: (id: string) => deviceTopic('telemetry', id),
  status: (id: string) => deviceTopic('status', id),
  alerts: (id: string) => deviceTopic('alerts', id),
  configDesired: (id: string) => deviceTopic('configDesired', id),
  configReported: (id: string) => deviceTopic('configReported', id),
  commands: (id: string) => deviceTopic('commands', id),
  commandResult: (id: string) => deviceTopic('commandResult', id),
  trust: (id: string) => deviceTopic('trust', id),
  otaJob: (id: string) => deviceTopic('otaJob', id),
  otaProgress: (id: string) => deviceTopic('otaProgress', id),
  errors: (id: string) => deviceTopic('errors', id),
  integrationsAlerts: () => INTEGRATION_TOPIC_KINDS.integrationsAlerts.suffix,
});

/** The offline last will of SPEC "MQTT": set by the agent on connect. */
export function statusLastWill(deviceId: string): { topic: string; payload: string; qos: 1; retain: true } {
  return { topic: topics.status(deviceId), payload: '{"v":1,"state":"offline"}', qos: 1, retain: true };
}

export interface ParsedDeviceTopic {
  readonly scope: 'device';
  readonly deviceId: string;
  readonly kind: DeviceTopicKind;
  readonly direction: 'device-to-platform' | 'platform-to-device';
}

export interface ParsedIntegrationTopic {
  readonly scope: 'integrations';
  readonly kind: IntegrationTopicKind;
  readonly direction: Extract<TopicDirection, 'platform-to-integrations'>;
}

export type ParsedTopic = ParsedDeviceTopic | ParsedIntegrationTopic;
export type TopicResult<T> = Result<T, TopicErrorCode>;

const KIND_BY_SUFFIX: ReadonlyMap<string, DeviceTopicKind> = new Map(
  DEVICE_TOPIC_KIND_NAMES.map((name) => [DEVICE_TOPIC_KINDS[name].suffix, name]),
);

/** Quotes a (possibly hostile) topic for a reason: JSON-escaped, cut to 80 characters. */
export function quoteTopic(topic: string): string {
  const quoted = JSON.stringify(topic);
  return quoted.length > 80 ? `${quoted.slice(0, 77)}..."` : quoted;
}

/** The checks every topic and topic filter passes: length, NUL, `$` topics, empty levels. */
export function checkTopicSyntax(topic: unknown): TopicResult<string> {
  if (typeof topic !== 'string' || topic.length === 0) return fail('TOPIC_INVALID', 'the topic is empty');
  if (topic.length > MAX_TOPIC_LENGTH) {
    return fail('TOPIC_TOO_LONG', `the topic has ${topic.length} characters, the limit is ${MAX_TOPIC_LENGTH}`);
  }
  if (topic.includes('\u0000')) return fail('TOPIC_INVALID', `the topic ${quoteTopic(topic)} contains a NUL character`);
  if (topic.startsWith('$')) {
    return fail('TOPIC_RESERVED', `the topic ${quoteTopic(topic)} is reserved to the broker ($ topics such as $SYS)`);
  }
  if (topic.split('/').includes('')) return fail('TOPIC_INVALID', `the topic ${quoteTopic(topic)} has an empty level`);
  return ok(topic);
}

/**
 * Parses a concrete topic (not a filter): `devices/{id}/{kind}` or `integrations/alerts`.
 * Refuses wildcards, `$` topics, foreign prefixes, bad device ids, unknown suffixes, empty
 * levels, NUL and over-long topics.
 */
export function parseTopic(topic: unknown): TopicResult<ParsedTopic> {
  const syntax = checkTopicSyntax(topic);
  if (!syntax.ok) return syntax;
  const text = syntax.value;
  if (text.includes('+') || text.includes('#')) {
    return fail('TOPIC_WILDCARD', `the topic ${quoteTopic(text)} contains a wildcard (+ or #)`);
  }
  const [prefix, ...rest] = text.split('/');
  if (prefix === INTEGRATIONS_PREFIX) {
    if (text === INTEGRATION_TOPIC_KINDS.integrationsAlerts.suffix) {
      return ok({ scope: 'integrations', kind: 'integrationsAlerts', direction: 'platform-to-integrations' });
    }
    return fail('TOPIC_UNKNOWN', `no such integration topic ${quoteTopic(text)}`);
  }
  if (prefix !== DEVICES_PREFIX) {
    return fail('TOPIC_FOREIGN', `the topic ${quoteTopic(text)} is outside devices/ and integrations/`);
  }
  const [deviceId, ...suffixLevels] = rest;
  if (deviceId === undefined || suffixLevels.length === 0) {
    return fail('TOPIC_UNKNOWN', `the topic ${quoteTopic(text)} names no device topic`);
  }
  if (!isDeviceId(deviceId)) {
    return fail('DEVICE_ID_INVALID', `${quoteTopic(deviceId)} is not a valid device id (${DEVICE_ID_RE.source})`);
  }
  const kind = KIND_BY_SUFFIX.get(suffixLevels.join('/'));
  if (kind === undefined) return fail('TOPIC_UNKNOWN', `no such device topic ${quoteTopic(text)}`);
  return ok({ scope: 'device', deviceId, kind, direction: DEVICE_TOPIC_KINDS[kind].direction });
}
