import { describe, expect, it } from 'vitest';
import { DEVICE_TOPIC_KINDS, DEVICE_TOPIC_KIND_NAMES, deviceTopicKinds, topicKindInfo, topics } from '../src/index.js';

describe('topic metadata', () => {
  it('follows the SPEC MQTT table', () => {
    const table = Object.fromEntries(
      DEVICE_TOPIC_KIND_NAMES.map((kind) => {
        const info = DEVICE_TOPIC_KINDS[kind];
        return [kind, [info.direction, info.qos, info.retain, info.payload]];
      }),
    );
    expect(table).toEqual({
      telemetry: ['device-to-platform', 1, false, 'TelemetryBatch'],
      status: ['device-to-platform', 1, true, 'DeviceStatus'],
      alerts: ['device-to-platform', 1, false, 'EdgeAlert'],
      configDesired: ['platform-to-device', 1, true, 'DesiredConfig'],
      configReported: ['device-to-platform', 1, false, 'ReportedConfig'],
      commands: ['platform-to-device', 1, false, 'Command'],
      commandResult: ['device-to-platform', 1, false, 'CommandResult'],
      trust: ['platform-to-device', 1, true, 'TrustSet'],
      otaJob: ['platform-to-device', 1, true, 'OtaJob'],
      otaProgress: ['device-to-platform', 1, false, 'OtaProgress'],
      errors: ['platform-to-device', 0, false, 'PublishError'],
    });
    expect(topicKindInfo('integrationsAlerts')).toMatchObject({ direction: 'platform-to-integrations', qos: 1, payload: 'AlertEvent' });
    expect(topicKindInfo('telemetry').acceptedQos).toEqual([0, 1]);
    expect(topicKindInfo('status').acceptedQos).toEqual([1]);
  });

  it('lists the kinds of each direction', () => {
    expect(deviceTopicKinds('device-to-platform')).toEqual(['telemetry', 'status', 'alerts', 'configReported', 'commandResult', 'otaProgress']);
    expect(deviceTopicKinds('platform-to-device')).toEqual(['configDesired', 'commands', 'trust', 'otaJob', 'errors']);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(DEVICE_TOPIC_KINDS)).toBe(true);
    expect(Object.isFrozen(DEVICE_TOPIC_KINDS.telemetry)).toBe(true);
    expect(Object.isFrozen(topics)).toBe(true);
  });
});
