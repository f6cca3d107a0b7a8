import type { OutpostConfig } from '@outpost/kernel';
import type { EnrollmentAnswer, TrustSet as TrustSetPayload } from '@outpost/protocol';
import type { CertificateRecord, Device } from '../domain/records.js';
import { renewAfter } from '../domain/renewal-rules.js';

/** What enroll and renew answer: protocol's schema, shared with the agent (SPEC "Listeners"). */
export { EnrollmentAnswer } from '@outpost/protocol';

/** The TrustSet handed out until OTA signing keys exist: empty, version 0 (accepted on first contact). */
export const EMPTY_TRUST_SET: TrustSetPayload = Object.freeze({ v: 1, version: 0, keys: [], signatures: [] }) as TrustSetPayload;

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export interface AnswerContext {
  readonly config: OutpostConfig;
  readonly chainPem: () => string;
  /** The device listener's port as devices reach it: configured, or the bound one when configured 0. */
  readonly devicePort: () => number;
  /** The MQTT listener's port as devices reach it: configured, or the bound one (announced by the broker) when configured 0. */
  readonly mqttPort: () => number;
  readonly trust: () => TrustSetPayload;
}

export function enrollmentAnswer(ctx: AnswerContext, device: Device, certificate: CertificateRecord): EnrollmentAnswer {
  const { config } = ctx;
  const host = hostForUrl(config.publicHost);
  const trust = ctx.trust();
  return {
    deviceId: device.id,
    certificate: certificate.pem,
    caChain: ctx.chainPem(),
    serial: certificate.serial,
    notAfter: certificate.notAfter,
    renewAfter: renewAfter(certificate.notBefore, certificate.notAfter),
    mqttUrl: `mqtts://${host}:${ctx.mqttPort()}`,
    deviceApiUrl: `https://${host}:${ctx.devicePort()}`,
    trust: { v: trust.v, version: trust.version, keys: [...trust.keys], signatures: [...trust.signatures] },
    limits: {
      maxPayloadBytes: config.limits.maxPayloadBytes,
      maxSamples: config.limits.maxSamples,
      maxMetrics: config.limits.maxMetrics,
      msgsPerS: config.limits.msgsPerS,
      bytesPerS: config.limits.bytesPerS,
    },
  };
}
