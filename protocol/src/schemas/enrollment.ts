/**
 * The device listener's enrollment contract (SPEC "Listeners"), shared by the registry (which
 * answers) and the agent (which asks): `POST /device/v1/enroll` and `POST /device/v1/renew`, and
 * the answer both give. The grace-period renewal's signed form is RenewalRequest
 * (renewal-request.ts); RenewRequest is the route's body, which also takes the mTLS form `{v, csr}`.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { formatPath } from '../json-path.js';
import type { Result } from '../result.js';
import { fail, ok } from '../result.js';
import { schemaProblem } from '../schema-errors.js';
import { DeviceId, EpochMs, V1 } from './common.js';
import { Limits } from './limits.js';
import { TrustSet } from './trust-set.js';

/** Largest CSR the listener takes, in characters. */
export const MAX_CSR_LENGTH = 16_384;

export const EnrollRequest = Type.Object(
  {
    v: V1,
    token: Type.String({ minLength: 1, maxLength: 256, description: 'the enrollment token' }),
    csr: Type.String({ minLength: 1, maxLength: MAX_CSR_LENGTH, description: 'PKCS#10 request, PEM, RSA-2048 or larger' }),
    hardware: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })),
    agentVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    deviceId: Type.Optional(DeviceId),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

/** Renewal: `{v, csr}` with a client certificate, or the signed grace form `{v, deviceId, csr, ts, sig}`. */
export const RenewRequest = Type.Object(
  {
    v: V1,
    csr: Type.String({ minLength: 1, maxLength: MAX_CSR_LENGTH }),
    deviceId: Type.Optional(DeviceId),
    ts: Type.Optional(EpochMs),
    sig: Type.Optional(Type.String({ minLength: 4, maxLength: 4096, pattern: '^[A-Za-z0-9+/]+={0,2}$' })),
  },
  { additionalProperties: false },
);
export type RenewRequest = Static<typeof RenewRequest>;

/** What enroll and renew answer: everything the agent needs to connect. */
export const EnrollmentAnswer = Type.Object({
  deviceId: DeviceId,
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

/** Compiled on first use: importing protocol compiles nothing (an agent that is not enrolling never needs it). */
let answerChecker: ReturnType<typeof Compile<typeof EnrollmentAnswer>> | undefined;

/** Checks an enroll/renew answer as the agent receives it; never throws. */
export function validateEnrollmentAnswer(value: unknown): Result<EnrollmentAnswer, 'PAYLOAD_INVALID'> {
  const checkAnswer = (answerChecker ??= Compile(EnrollmentAnswer));
  if (checkAnswer.Check(value)) return ok(value);
  const found = schemaProblem(EnrollmentAnswer, value, () => checkAnswer.Errors(value));
  const where = formatPath(found.path);
  return fail('PAYLOAD_INVALID', `${where === '' ? 'answer' : where}: ${found.message}`, where);
}
