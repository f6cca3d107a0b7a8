/**
 * The ACL of SPEC "MQTT": a device publishes only to its own device→platform topics and
 * subscribes only to its own platform→device topics (exact topics: a device never needs a
 * wildcard); integrations subscribe under `integrations/`.
 */
import { fail, ok } from './result.js';
import { checkTopicSyntax, isDeviceId, parseTopic, quoteTopic } from './topics.js';
import type { ParsedDeviceTopic, TopicResult } from './topics.js';

function checkOwnTopic(
  deviceId: string,
  topic: string,
  direction: ParsedDeviceTopic['direction'],
): TopicResult<ParsedDeviceTopic> {
  if (!isDeviceId(deviceId)) return fail('DEVICE_ID_INVALID', `the client's device id ${quoteTopic(String(deviceId))} is invalid`);
  const parsed = parseTopic(topic);
  if (!parsed.ok) return parsed;
  const value = parsed.value;
  if (value.scope !== 'device') return fail('TOPIC_FORBIDDEN', `${quoteTopic(topic)} is reserved to integrations`);
  if (value.deviceId !== deviceId) return fail('TOPIC_FORBIDDEN', `${quoteTopic(topic)} belongs to another device`);
  if (value.direction !== direction) {
    const verb = direction === 'device-to-platform' ? 'published' : 'subscribed to';
    return fail('TOPIC_FORBIDDEN', `${quoteTopic(topic)} is a ${value.direction} topic and cannot be ${verb} by the device`);
  }
  return ok(value);
}

/** Whether device `deviceId` may publish to `topic`, and why not. */
export function checkPublish(deviceId: string, topic: string): TopicResult<ParsedDeviceTopic> {
  return checkOwnTopic(deviceId, topic, 'device-to-platform');
}

/** Whether device `deviceId` may subscribe with `filter` (an exact topic, no wildcards), and why not. */
export function checkSubscription(deviceId: string, filter: string): TopicResult<ParsedDeviceTopic> {
  return checkOwnTopic(deviceId, filter, 'platform-to-device');
}

export function isAllowedPublish(deviceId: string, topic: string): boolean {
  return checkPublish(deviceId, topic).ok;
}

export function isAllowedSubscription(deviceId: string, filter: string): boolean {
  return checkSubscription(deviceId, filter).ok;
}

/**
 * Whether an integration identity may subscribe with `filter`: any valid filter under
 * `integrations/` (`integrations/#`, `integrations/+`, `integrations/alerts`).
 */
export function checkIntegrationSubscription(filter: string): TopicResult<string> {
  const syntax = checkTopicSyntax(filter);
  if (!syntax.ok) return syntax;
  const levels = syntax.value.split('/');
  const invalid = levels.findIndex(
    (level, index) => (level.includes('#') && (level !== '#' || index !== levels.length - 1)) || (level.includes('+') && level !== '+'),
  );
  if (invalid !== -1) return fail('TOPIC_INVALID', `the filter ${quoteTopic(filter)} misplaces a wildcard`);
  if (levels[0] !== 'integrations' || levels.length < 2) {
    return fail('TOPIC_FORBIDDEN', `an integration may subscribe only under integrations/, not ${quoteTopic(filter)}`);
  }
  return ok(syntax.value);
}

export function isAllowedIntegrationSubscription(filter: string): boolean {
  return checkIntegrationSubscription(filter).ok;
}
