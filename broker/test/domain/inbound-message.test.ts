import { DEVICE_TOPIC_KINDS, deviceTopicKinds, resolveLimits, topics } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { batchSeqOf } from '../../src/domain/batch-seq.js';
import { checkDeviceTopic, decodeInbound, type InboundPayloads } from '../../src/domain/inbound-message.js';

const limits = resolveLimits({ maxPayloadBytes: 1_024 });
const now = 1_700_000_000_000;

describe('checkDeviceTopic', () => {
  it('knows every device → platform topic of protocol, with the payload protocol names', () => {
    const expected: Record<keyof InboundPayloads, string> = {
      telemetry: 'TelemetryBatch',
      status: 'DeviceStatus',
      alerts: 'EdgeAlert',
      configReported: 'ReportedConfig',
      commandResult: 'CommandResult',
      otaProgress: 'OtaProgress',
    };
    expect([...deviceTopicKinds('device-to-platform')].sort()).toEqual(Object.keys(expected).sort());
    for (const [kind, payload] of Object.entries(expected)) expect(DEVICE_TOPIC_KINDS[kind as keyof InboundPayloads].payload).toBe(payload);
  });

  it.each([
    ['its own telemetry', topics.telemetry('dev-1'), 1, true],
    ['its own status at QoS 0', topics.status('dev-1'), 0, true],
    ['QoS 2', topics.telemetry('dev-1'), 2, 'QOS_UNSUPPORTED'],
    ["another device's telemetry", topics.telemetry('dev-2'), 1, 'TOPIC_FORBIDDEN'],
    ['its own desired config', topics.configDesired('dev-1'), 1, 'TOPIC_FORBIDDEN'],
    ['$SYS', '$SYS/broker/x', 0, 'TOPIC_RESERVED'],
    ['a foreign prefix', 'home/kitchen', 0, 'TOPIC_FOREIGN'],
    ['integrations', topics.integrationsAlerts(), 1, 'TOPIC_FORBIDDEN'],
  ])('%s', (_what, topic, qos, expected) => {
    const checked = checkDeviceTopic('dev-1', topic, qos);
    if (expected === true) expect(checked.ok).toBe(true);
    else expect(checked).toMatchObject({ ok: false, code: expected });
  });
});

describe('decodeInbound', () => {
  const telemetry = (payload: string) => decodeInbound({ deviceId: 'dev-1', topic: topics.telemetry('dev-1'), kind: 'telemetry', payload: Buffer.from(payload) }, limits, now);

  it('types an accepted batch', () => {
    const result = telemetry(JSON.stringify({ v: 1, seq: 5, samples: [{ ts: now, metrics: { t: 1 } }] }));
    expect(result).toMatchObject({ ok: true, message: { kind: 'telemetry', deviceId: 'dev-1', receivedAt: now, payload: { seq: 5 } } });
  });

  it.each([
    ['a reserved name', JSON.stringify({ v: 1, seq: 6, samples: [{ ts: now, metrics: { time: 1 } }] }), 'NAME_RESERVED', 6],
    ['too large', JSON.stringify({ v: 1, seq: 7, samples: [{ ts: now, metrics: { s: 'x'.repeat(2_000) } }] }), 'PAYLOAD_TOO_LARGE', 7],
    ['not JSON', 'nope', 'PAYLOAD_INVALID', undefined],
    ['a schema violation', JSON.stringify({ v: 2, seq: 8, samples: [] }), 'PAYLOAD_INVALID', 8],
  ])('explains %s as a PublishError (with the seq when it can be read)', (_what, payload, code, seq) => {
    const result = telemetry(payload);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toEqual({ v: 1, topic: topics.telemetry('dev-1'), code, reason: expect.any(String), ...(seq === undefined ? {} : { seq }) });
  });
});

describe('batchSeqOf', () => {
  it.each([
    ['parsed JSON', '{"v":1,"seq":12,"samples":[]}', 10_000, 12],
    ['a cut payload', '{"v":1,"seq":13,"samples":[', 10_000, 13],
    ['a payload over the limit', `{"v":1,"seq":14,"samples":["${'x'.repeat(100)}"]}`, 10, 14],
    ['a negative seq', '{"seq":-1}', 10_000, undefined],
    ['no seq', '{"v":1}', 10_000, undefined],
    ['an array', '[1]', 10_000, undefined],
    ['binary noise', '\u0000\u0001', 10_000, undefined],
  ])('%s', (_what, text, max, expected) => {
    expect(batchSeqOf(Buffer.from(text), max)).toBe(expected);
  });
});
