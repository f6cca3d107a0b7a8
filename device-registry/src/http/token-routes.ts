import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorRouteDeps } from './operator-deps.js';
import { decodeCursor, EpochMs, errorResponses, isString, page, pageOf, PageQuery } from '@outpost/kernel';
import { GroupNameSchema, TagMap } from './schemas.js';
import { TokenView, tokenView } from './views.js';

const CreateBody = Type.Object(
  {
    group: GroupNameSchema,
    tags: Type.Optional(TagMap),
    maxUses: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'how many devices may enroll with it' }),
    ttlSeconds: Type.Integer({ minimum: 1, maximum: 365 * 86_400, description: 'lifetime in seconds' }),
    deviceIdPrefix: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', description: 'prefix of the ids assigned to devices whose CSR proposes none (default: the group)' }),
    ),
  },
  { additionalProperties: false },
);
export const Created = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'shown only in this answer' }),
  group: Type.String(),
  tags: TagMap,
  maxUses: Type.Integer(),
  expiresAt: EpochMs,
  caFingerprint: Type.String({ description: 'sha256:<hex> of the active CA certificate, for --ca-fingerprint' }),
  enrollCommand: Type.String({ description: 'the command to run on the device' }),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ListQuery = Type.Object(PageQuery, { additionalProperties: false });

export function registerTokenRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth, audit, now } = deps;
  const tags = ['enrollment-tokens'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/enrollment-tokens',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List enrollment tokens (never their secrets)', querystring: ListQuery, response: { 200: pageOf(TokenView), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await services.tokens.list({ limit, ...(after === undefined ? {} : { after }) });
      const at = now();
      return page(
        items.map((t) => tokenView(t, at)),
        limit,
        (t) => t.id,
      );
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/enrollment-tokens',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Create an enrollment token; the token is shown only in this answer', body: CreateBody, response: { 201: Created, ...errorResponses } },
    },
    async (request, reply) => {
      const { token, secret } = await services.tokens.create(request.body, auth.principal(request).username);
      audit.annotate(request, { target: token.id });
      const caFingerprint = services.ca.active().fingerprint;
      const enrollCommand = `outpost-agent enroll --server ${deps.deviceApiUrl()} --token ${secret} --ca-fingerprint ${caFingerprint}`;
      return reply.status(201).send({ id: token.id, token: secret, group: token.group, tags: { ...token.tags }, maxUses: token.maxUses, expiresAt: token.expiresAt, caFingerprint, enrollCommand });
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v1/enrollment-tokens/:id',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Revoke an enrollment token', params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await services.tokens.revoke(request.params.id);
      return reply.status(204).send();
    },
  );
}
