import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { SERIAL_INPUT_PATTERN, normalizeSerial } from '../domain/serial.js';
import type { OperatorRouteDeps } from './operator-deps.js';
import { errorResponses } from '@outpost/kernel';
import { CertificateView, certificateView } from './views.js';

const SerialParams = Type.Object({ serial: Type.String({ pattern: SERIAL_INPUT_PATTERN, description: 'hex serial, any case, colons allowed' }) });

/** Revoking single certificates, and the CRL for operators (devices read it at /device/v1/crl). */
export function registerCertificateRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth, now } = deps;
  const tags = ['certificates'];

  app.post<{ Params: Static<typeof SerialParams> }>(
    '/api/v1/certificates/:serial/revoke',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Revoke one certificate (the device keeps its others)', params: SerialParams, response: { 200: CertificateView, ...errorResponses } },
    },
    async (request) => certificateView(await services.lifecycle.revokeCertificate(normalizeSerial(request.params.serial)), now(), false),
  );

  app.get(
    '/api/v1/crl',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'The certificate revocation lists of the trusted CAs (PEM)', response: { 200: Type.String(), ...errorResponses } } },
    async (_request, reply) => reply.type('application/x-pem-file').send(await services.crl.pem()),
  );
}
