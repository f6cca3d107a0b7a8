import type { AuditPort } from '@outpost/kernel';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EnrollRequest, OutpostError, RenewRequest } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { RateLimiter } from '../domain/rate-limiter.js';
import type { RegistryServices } from '../services/registry-services.js';
import { enrollmentAnswer, EnrollmentAnswer, type AnswerContext } from './enrollment-answer.js';
import { peerCertificatePem } from './peer-certificate.js';
import { ErrorBody } from '@outpost/kernel';

/** The request schemas are protocol's, shared with the agent. */
const EnrollBody = EnrollRequest;
const RenewBody = RenewRequest;

const deviceErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody } as const;
const PEM_TYPE = 'application/x-pem-file';

export interface DeviceListenerDeps {
  readonly services: RegistryServices;
  readonly answer: AnswerContext;
  /** Per client IP, for enroll and signed renewals (the unauthenticated entry points). */
  readonly limiter: RateLimiter;
  /** Enrollments and renewals are recorded in the audit log (they change who may connect). */
  readonly audit: AuditPort;
}

/** Records a device's own action; a failing audit write is logged, never fails the device. */
async function recordAudit(deps: DeviceListenerDeps, request: FastifyRequest, entry: { actor: string; action: string; target: string; status: number }): Promise<void> {
  try {
    await deps.audit.record({ ...entry, outcome: 'success', ip: request.ip });
  } catch (err) {
    request.log.error({ err, action: entry.action }, 'audit: could not record a device action');
  }
}

function limit(limiter: RateLimiter, request: FastifyRequest, reply: FastifyReply, code: 'ENROLL_RATE_LIMITED' | 'RENEW_RATE_LIMITED'): void {
  const waitMs = limiter.take(request.ip);
  if (waitMs === 0) return;
  void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
  throw new OutpostError(code, `too many requests from ${request.ip}; retry in ${Math.ceil(waitMs / 1000)} s`);
}

/** Routes of the device HTTPS listener: enroll, renew, CRL and CA chain (SPEC "Listeners"). */
export function registerDeviceListenerRoutes(app: FastifyInstance, deps: DeviceListenerDeps): void {
  const { services, answer, limiter } = deps;
  const tags = ['device'];

  app.post<{ Body: Static<typeof EnrollBody> }>(
    '/device/v1/enroll',
    {
      schema: {
        tags,
        summary: 'Enroll a device with a token and a CSR; retrying the same CSR with the same token answers the same device',
        body: EnrollBody,
        response: { 200: EnrollmentAnswer, 201: EnrollmentAnswer, ...deviceErrors },
      },
    },
    async (request, reply) => {
      limit(limiter, request, reply, 'ENROLL_RATE_LIMITED');
      const { token, csr, hardware, agentVersion, deviceId } = request.body;
      const outcome = await services.enrollment.enroll({ token, csr, hardware, agentVersion, deviceId });
      request.log.info({ deviceId: outcome.device.id, serial: outcome.certificate.serial, retried: outcome.retried }, 'device enrolled');
      if (!outcome.retried) {
        await recordAudit(deps, request, { actor: `enrollment-token:${outcome.device.enrolledWith ?? '?'}`, action: 'devices.enroll', target: `${outcome.device.id}/${outcome.certificate.serial}`, status: 201 });
      }
      return reply.status(outcome.retried ? 200 : 201).send(enrollmentAnswer(answer, outcome.device, outcome.certificate));
    },
  );

  app.post<{ Body: Static<typeof RenewBody> }>(
    '/device/v1/renew',
    {
      schema: {
        tags,
        summary: 'Renew a device certificate: with the current client certificate, or signed by the device key within the grace period',
        body: RenewBody,
        response: { 200: EnrollmentAnswer, ...deviceErrors },
      },
    },
    async (request, reply) => {
      const { v, csr, deviceId, ts, sig } = request.body;
      const signed = [deviceId, ts, sig].filter((x) => x !== undefined).length;
      const peer = peerCertificatePem(request);
      let outcome;
      try {
        if (signed === 3 && deviceId !== undefined && ts !== undefined && sig !== undefined) {
          limit(limiter, request, reply, 'RENEW_RATE_LIMITED');
          outcome = await services.renewal.renewWithSignature({ v, deviceId, csr, ts, sig });
        } else if (signed !== 0) {
          throw new OutpostError('RENEW_REQUEST_INVALID', 'a signed renewal needs deviceId, ts and sig together');
        } else if (peer !== undefined) {
          outcome = await services.renewal.renewWithCertificate(peer, csr);
        } else {
          throw new OutpostError('RENEW_UNAUTHENTICATED', 'present the current device certificate, or sign the request with the device key ({v, deviceId, csr, ts, sig})', {
            status: 401,
          });
        }
      } catch (err) {
        // RENEW_RATE_LIMITED and RENEW_TOO_EARLY say when to come back.
        const retryAfterS = err instanceof OutpostError ? (err.details as { retryAfterS?: unknown } | undefined)?.retryAfterS : undefined;
        if (typeof retryAfterS === 'number') void reply.header('retry-after', String(retryAfterS));
        throw err;
      }
      if (outcome.reused) {
        request.log.info({ deviceId: outcome.device.id, serial: outcome.certificate.serial }, 'device certificate renewal before its window: the current certificate answered again');
        return enrollmentAnswer(answer, outcome.device, outcome.certificate);
      }
      request.log.info({ deviceId: outcome.device.id, serial: outcome.certificate.serial, renewedFrom: outcome.certificate.renewedFrom }, 'device certificate renewed');
      await recordAudit(deps, request, { actor: `device:${outcome.device.id}`, action: signed === 3 ? 'devices.renew-signed' : 'devices.renew', target: `${outcome.device.id}/${outcome.certificate.serial}`, status: 200 });
      return enrollmentAnswer(answer, outcome.device, outcome.certificate);
    },
  );

  app.get(
    '/device/v1/crl',
    { schema: { tags, summary: 'The certificate revocation lists of the trusted CAs (PEM)', response: { 200: Type.String() } } },
    async (_request, reply) => reply.type(PEM_TYPE).send(await services.crl.pem()),
  );

  app.get(
    '/device/v1/ca',
    { schema: { tags, summary: 'The trusted platform CA chain (PEM)', response: { 200: Type.String() } } },
    async (_request, reply) => reply.type(PEM_TYPE).send(services.ca.chainPem()),
  );
}
