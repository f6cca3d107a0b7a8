import type { OutpostConfig } from '@outpost/platform';
import { Limits, TrustSet, type TrustSet as TrustSetPayload } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { CertificateRecord, Device } from '../domain/records.js';
import { renewAfter } from '../domain/renewal-rules.js';
import { EpochMs } from './schemas.js';

/** What enroll and renew answer: everything the agent needs to connect (SPEC "Listeners"). */
export const EnrollmentAnswer = Type.Object({
  deviceId: Type.String(),
  certificate: Type.String({ description: 'the device certificate, PEM' }),
  caChain: Type.String({ description: 'the trusted platform CA certificates, one PEM string' }),
  serial: Type.String(),
  notAfter: EpochMs,
  renewAfter: EpochMs,
  mqttUrl: Type.String(),
  deviceApiUrl: Type.String(),
  trust: TrustSet,
  limits: Limits,
});
export type EnrollmentAnswer = Static<typeof EnrollmentAnswer>;

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
    mqttUrl: `mqtts://${host}:${config.mqtt.port}`,
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
