import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { CaRecord } from '../domain/records.js';
import { CLIENT_NAME_RE } from '../pki/index.js';
import type { OperatorRouteDeps } from './operator-deps.js';
import { EpochMs, errorResponses, nullable } from '@outpost/kernel';

const CaInfo = Type.Object({
  id: Type.String(),
  commonName: Type.String(),
  status: Type.Enum(['active', 'previous', 'retired'], { description: 'active issues; previous is still trusted; retired is out of the chain' }),
  fingerprint: Type.String(),
  notBefore: EpochMs,
  notAfter: EpochMs,
  createdAt: EpochMs,
  retiredAt: nullable(EpochMs),
});
const CaView = Type.Object({
  chainPem: Type.String({ description: 'the trusted CA certificates, active first' }),
  fingerprint: Type.String({ description: 'sha256:<hex of DER> of the active CA certificate' }),
  cas: Type.Array(CaInfo),
});
const RetireBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the CA to retire; default: every previous CA' })),
    force: Type.Optional(Type.Boolean({ description: 'retire even though some devices hold certificates only from it' })),
  },
  { additionalProperties: false },
);
const CredentialBody = Type.Object(
  {
    name: Type.String({ pattern: CLIENT_NAME_RE.source, description: 'the CN, e.g. grafana-bridge' }),
    role: Type.Literal('integration'),
    csr: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384, description: 'PEM CSR; without it the key is generated here and returned once' })),
    validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, default: 365 })),
  },
  { additionalProperties: false },
);
const Credential = Type.Object({
  name: Type.String(),
  role: Type.String(),
  serial: Type.String(),
  fingerprint: Type.String(),
  notAfter: EpochMs,
  certificate: Type.String(),
  caChain: Type.String(),
  privateKey: Type.Optional(Type.String({ description: 'only when no CSR was sent; shown only in this answer' })),
});

function caInfo(ca: CaRecord): Static<typeof CaInfo> {
  return { id: ca.id, commonName: ca.commonName, status: ca.status, fingerprint: ca.fingerprint, notBefore: ca.notBefore, notAfter: ca.notAfter, createdAt: ca.createdAt, retiredAt: ca.retiredAt };
}

/** The platform CA (read, rotate, retire) and integration credentials: admin business. */
export function registerCaRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth, audit } = deps;
  const tags = ['ca'];
  const view = (): Static<typeof CaView> => ({ chainPem: services.ca.chainPem(), fingerprint: services.ca.active().fingerprint, cas: services.ca.all().map(caInfo) });

  app.get('/api/v1/ca', { onRequest: auth.guard('viewer'), schema: { tags, summary: 'The CA chain devices trust and the active CA fingerprint', response: { 200: CaView, ...errorResponses } } }, async () => view());

  app.post(
    '/api/v1/ca/rotate',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Add a new active CA; the old one stays trusted until retired', response: { 200: CaView, ...errorResponses } } },
    async (request) => {
      const created = await services.ca.rotate();
      audit.annotate(request, { target: created.id });
      return view();
    },
  );

  app.post<{ Body: Static<typeof RetireBody> | undefined }>(
    '/api/v1/ca/retire',
    {
      onRequest: auth.guard('admin'),
      schema: { tags, summary: 'Retire previous CAs: they leave the chain and their certificates stop working', body: RetireBody, response: { 200: CaView, ...errorResponses } },
    },
    async (request) => {
      const retired = await services.ca.retire(request.body ?? {});
      audit.annotate(request, { target: retired.map((ca) => ca.id).join(',') });
      return view();
    },
  );

  app.post<{ Body: Static<typeof CredentialBody> }>(
    '/api/v1/credentials',
    {
      onRequest: auth.guard('admin'),
      schema: { tags: ['credentials'], summary: 'Issue an integration client certificate', body: CredentialBody, response: { 201: Credential, ...errorResponses } },
    },
    async (request, reply) => {
      const { name, role, csr, validityDays } = request.body;
      const issued = await services.credentials.create({ name, role, validityDays: validityDays ?? 365, ...(csr === undefined ? {} : { csr }) });
      const cert = issued.certificate;
      audit.annotate(request, { target: `${name}/${cert.serial}` });
      return reply.status(201).send({
        name,
        role,
        serial: cert.serial,
        fingerprint: cert.fingerprint,
        notAfter: cert.notAfter,
        certificate: cert.pem,
        caChain: services.ca.chainPem(),
        ...(issued.privateKeyPem === undefined ? {} : { privateKey: issued.privateKeyPem }),
      });
    },
  );
}
