import { describe, expect, it } from 'vitest';
import {
  checkIntegrationSubscription,
  checkPublish,
  checkSubscription,
  deviceTopicKinds,
  isAllowedIntegrationSubscription,
  isAllowedPublish,
  isAllowedSubscription,
  topics,
} from '../src/index.js';

const ME = 'pi-0001';
const OTHER = 'pi-0002';

describe('device publish ACL', () => {
  it.each(deviceTopicKinds('device-to-platform'))('lets a device publish its own %s', (kind) => {
    expect(isAllowedPublish(ME, topics[kind](ME))).toBe(true);
    expect(checkPublish(ME, topics[kind](ME))).toMatchObject({ ok: true, value: { deviceId: ME, kind } });
  });

  it.each(deviceTopicKinds('device-to-platform'))("refuses a device publishing another device's %s", (kind) => {
    expect(checkPublish(ME, topics[kind](OTHER))).toEqual({
      ok: false,
      code: 'TOPIC_FORBIDDEN',
      reason: `"${topics[kind](OTHER)}" belongs to another device`,
    });
  });

  it.each(deviceTopicKinds('platform-to-device'))('refuses a device publishing to its own %s', (kind) => {
    const result = checkPublish(ME, topics[kind](ME));
    expect(result).toMatchObject({ ok: false, code: 'TOPIC_FORBIDDEN' });
    if (!result.ok) expect(result.reason).toContain('platform-to-device topic and cannot be published by the device');
  });

  it.each([
    ['#', 'TOPIC_WILDCARD'],
    ['$SYS/broker/load', 'TOPIC_RESERVED'],
    ['integrations/alerts', 'TOPIC_FORBIDDEN'],
    ['other/pi-0001/telemetry', 'TOPIC_FOREIGN'],
  ])('refuses a device publishing to %s', (topic, code) => {
    expect(checkPublish(ME, topic)).toMatchObject({ ok: false, code });
    expect(isAllowedPublish(ME, topic)).toBe(false);
  });

  it('refuses a client whose own device id is invalid', () => {
    expect(checkPublish('+', 'devices/abc/telemetry')).toMatchObject({ ok: false, code: 'DEVICE_ID_INVALID' });
  });
});

describe('device subscribe ACL', () => {
  it.each(deviceTopicKinds('platform-to-device'))('lets a device subscribe to its own %s', (kind) => {
    expect(isAllowedSubscription(ME, topics[kind](ME))).toBe(true);
  });

  it.each(deviceTopicKinds('platform-to-device'))("refuses a device subscribing to another device's %s", (kind) => {
    expect(checkSubscription(ME, topics[kind](OTHER))).toMatchObject({ ok: false, code: 'TOPIC_FORBIDDEN' });
  });

  it.each(deviceTopicKinds('device-to-platform'))('refuses a device subscribing to its own %s', (kind) => {
    const result = checkSubscription(ME, topics[kind](ME));
    expect(result).toMatchObject({ ok: false, code: 'TOPIC_FORBIDDEN' });
    if (!result.ok) expect(result.reason).toContain('cannot be subscribed to by the device');
  });

  it.each([
    ['#', 'TOPIC_WILDCARD'],
    ['devices/#', 'TOPIC_WILDCARD'],
    ['devices/+/commands', 'TOPIC_WILDCARD'],
    ['devices/pi-0001/#', 'TOPIC_WILDCARD'],
    ['devices/pi-0001/ota/+', 'TOPIC_WILDCARD'],
    ['$SYS/#', 'TOPIC_RESERVED'],
    ['integrations/#', 'TOPIC_WILDCARD'],
    ['integrations/alerts', 'TOPIC_FORBIDDEN'],
  ])('refuses a device subscribing to %s', (filter, code) => {
    expect(checkSubscription(ME, filter)).toMatchObject({ ok: false, code });
    expect(isAllowedSubscription(ME, filter)).toBe(false);
  });
});

describe('integration subscribe ACL', () => {
  it.each(['integrations/#', 'integrations/+', 'integrations/alerts'])('lets an integration subscribe to %s', (filter) => {
    expect(checkIntegrationSubscription(filter)).toEqual({ ok: true, value: filter });
    expect(isAllowedIntegrationSubscription(filter)).toBe(true);
  });

  it.each([
    ['#', 'TOPIC_FORBIDDEN'],
    ['integrations', 'TOPIC_FORBIDDEN'],
    ['devices/+/telemetry', 'TOPIC_FORBIDDEN'],
    ['$SYS/#', 'TOPIC_RESERVED'],
    ['integrations/#/x', 'TOPIC_INVALID'],
    ['integrations/al+', 'TOPIC_INVALID'],
    ['integrations/a#', 'TOPIC_INVALID'],
    ['integrations//x', 'TOPIC_INVALID'],
  ])('refuses an integration subscribing to %s', (filter, code) => {
    expect(checkIntegrationSubscription(filter)).toMatchObject({ ok: false, code });
    expect(isAllowedIntegrationSubscription(filter)).toBe(false);
  });
});
