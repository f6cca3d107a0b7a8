import { describe, expect, it } from 'vitest';
import {
  DEVICE_ID_RE,
  DEVICE_TOPIC_KINDS,
  DEVICE_TOPIC_KIND_NAMES,
  MAX_TOPIC_LENGTH,
  OutpostError,
  decodePayload,
  deviceTopic,
  isDeviceId,
  parseTopic,
  statusLastWill,
  topics,
} from '../src/index.js';

const ID = 'pi-0001';

describe('topic builders', () => {
  it.each([
    ['telemetry', 'devices/pi-0001/telemetry'],
    ['status', 'devices/pi-0001/status'],
    ['alerts', 'devices/pi-0001/alerts'],
    ['configDesired', 'devices/pi-0001/config/desired'],
    ['configReported', 'devices/pi-0001/config/reported'],
    ['commands', 'devices/pi-0001/commands'],
    ['commandResult', 'devices/pi-0001/commands/result'],
    ['trust', 'devices/pi-0001/trust'],
    ['otaJob', 'devices/pi-0001/ota/job'],
    ['otaProgress', 'devices/pi-0001/ota/progress'],
    ['errors', 'devices/pi-0001/errors'],
  ] as const)('builds the %s topic as %s', (kind, topic) => {
    expect(topics[kind](ID)).toBe(topic);
    expect(deviceTopic(kind, ID)).toBe(topic);
  });

  it('builds the integrations alerts topic', () => {
    expect(topics.integrationsAlerts()).toBe('integrations/alerts');
  });

  it.each(['+', '#', 'PI-1', 'ab', 'a/b-c', '', '-pi'])('refuses to build a topic for device id %j', (id) => {
    expect(() => topics.telemetry(id)).toThrow(OutpostError);
    try {
      topics.telemetry(id);
    } catch (error) {
      expect(error).toMatchObject({ code: 'DEVICE_ID_INVALID' });
    }
  });

  it('gives the offline last will of SPEC', () => {
    const will = statusLastWill(ID);
    expect(will).toEqual({ topic: 'devices/pi-0001/status', payload: '{"v":1,"state":"offline"}', qos: 1, retain: true });
    expect(decodePayload('DeviceStatus', will.payload)).toEqual({ ok: true, value: { v: 1, state: 'offline' } });
  });
});

describe('device ids', () => {
  it.each(['abc', 'pi-0001', '0a1', 'a'.repeat(64), 'node-1-2-3'])('accepts %s', (id) => {
    expect(isDeviceId(id)).toBe(true);
  });

  it.each(['ab', 'a'.repeat(65), '-abc', 'Abc', 'a_b', 'a.b', 'a b', 'ab+', 'ab#', 'ab/c', '', 42, null])('refuses %j', (id) => {
    expect(isDeviceId(id)).toBe(false);
  });

  it('exposes the pattern of SPEC', () => {
    expect(DEVICE_ID_RE.source).toBe('^[a-z0-9][a-z0-9-]{2,63}$');
  });
});

describe('parseTopic', () => {
  it.each(DEVICE_TOPIC_KIND_NAMES)('round-trips the %s topic', (kind) => {
    expect(parseTopic(topics[kind](ID))).toEqual({
      ok: true,
      value: { scope: 'device', deviceId: ID, kind, direction: DEVICE_TOPIC_KINDS[kind].direction },
    });
  });

  it('parses the integrations alerts topic', () => {
    expect(parseTopic(topics.integrationsAlerts())).toEqual({
      ok: true,
      value: { scope: 'integrations', kind: 'integrationsAlerts', direction: 'platform-to-integrations' },
    });
  });

  it.each([
    ['devices/pi-0001/+', 'TOPIC_WILDCARD'],
    ['devices/+/telemetry', 'TOPIC_WILDCARD'],
    ['devices/#', 'TOPIC_WILDCARD'],
    ['#', 'TOPIC_WILDCARD'],
    ['devices/pi-0001/tele+metry', 'TOPIC_WILDCARD'],
    ['$SYS/broker/clients', 'TOPIC_RESERVED'],
    ['$share/group/devices/pi-0001/telemetry', 'TOPIC_RESERVED'],
    ['sensors/pi-0001/telemetry', 'TOPIC_FOREIGN'],
    ['Devices/pi-0001/telemetry', 'TOPIC_FOREIGN'],
    ['devices/PI-0001/telemetry', 'DEVICE_ID_INVALID'],
    ['devices/ab/telemetry', 'DEVICE_ID_INVALID'],
    ['devices/pi_1/telemetry', 'DEVICE_ID_INVALID'],
    ['devices/pi-0001/unknown', 'TOPIC_UNKNOWN'],
    ['devices/pi-0001/config', 'TOPIC_UNKNOWN'],
    ['devices/pi-0001/telemetry/extra', 'TOPIC_UNKNOWN'],
    ['devices/pi-0001', 'TOPIC_UNKNOWN'],
    ['devices', 'TOPIC_UNKNOWN'],
    ['integrations/other', 'TOPIC_UNKNOWN'],
    ['devices//telemetry', 'TOPIC_INVALID'],
    ['/devices/pi-0001/telemetry', 'TOPIC_INVALID'],
    ['devices/pi-0001/telemetry/', 'TOPIC_INVALID'],
    ['devices/pi-0001/telemetry\u0000', 'TOPIC_INVALID'],
    ['', 'TOPIC_INVALID'],
    [`devices/pi-0001/${'a/'.repeat(200)}telemetry`, 'TOPIC_TOO_LONG'],
  ])('refuses %j with %s', (topic, code) => {
    const result = parseTopic(topic);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
  });

  it('refuses a value that is not a string', () => {
    expect(parseTopic(42)).toEqual({ ok: false, code: 'TOPIC_INVALID', reason: 'the topic is empty' });
  });

  it('says why, quoting the topic', () => {
    expect(parseTopic('devices/PI-0001/telemetry')).toEqual({
      ok: false,
      code: 'DEVICE_ID_INVALID',
      reason: '"PI-0001" is not a valid device id (^[a-z0-9][a-z0-9-]{2,63}$)',
    });
    expect(parseTopic('a'.repeat(MAX_TOPIC_LENGTH + 1))).toEqual({
      ok: false,
      code: 'TOPIC_TOO_LONG',
      reason: `the topic has ${MAX_TOPIC_LENGTH + 1} characters, the limit is ${MAX_TOPIC_LENGTH}`,
    });
    const hostile = `x/${'z'.repeat(200)}`;
    const result = parseTopic(hostile);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeLessThan(140);
  });
});
