import { describe, expect, it } from 'vitest';
import { checkClientId, refusal } from '../../src/domain/connect-decision.js';
import type { Identity } from '../../src/domain/identity.js';

const device: Identity = { kind: 'device', deviceId: 'dev-1', serial: '01' };
const integration: Identity = { kind: 'integration', name: 'grafana', role: 'integration', serial: '02' };

describe('checkClientId', () => {
  it.each([
    ['a device with its id', device, 'dev-1', true, undefined],
    ['a device with its id, clean 0', device, 'dev-1', false, undefined],
    ['a device with another id', device, 'dev-2', true, 'CLIENT_ID_MISMATCH'],
    ['an empty id, clean 0', device, '', false, 'CLIENT_ID_EMPTY'],
    ['an empty id, clean 1', device, '', true, 'CLIENT_ID_EMPTY'],
    ['an integration with a non-device id', integration, 'integration:grafana', true, undefined],
    ['an integration with a device-like id', integration, 'grafana', true, 'CLIENT_ID_MISMATCH'],
  ])('%s', (_what, identity, clientId, clean, reason) => {
    const found = checkClientId(identity, clientId, clean);
    expect(found?.reason).toBe(reason);
    if (found !== undefined) expect(found.returnCode).toBe(2);
  });
});

describe('refusal', () => {
  it.each([
    ['DEVICE_SUSPENDED', 5],
    ['CERT_REVOKED', 5],
    ['NO_CERTIFICATE', 5],
    ['REGISTRY_UNAVAILABLE', 3],
    ['CLIENT_ID_MISMATCH', 2],
  ] as const)('maps %s to CONNACK %i', (reason, code) => {
    expect(refusal(reason, 'x').returnCode).toBe(code);
  });
});
