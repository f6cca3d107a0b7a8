import type { FastifyInstance } from 'fastify';
import { Name } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { DesiredConfigRecord, ReportedConfigRecord } from '../domain/records.js';
import type { OperatorRouteDeps } from './operator-deps.js';
import { decodeCursor, EpochMs, errorResponses, isString, nullable, page, pageOf, PageQuery } from '@outpost/kernel';
import { CommandArgsSchema } from './schemas.js';
import { CommandView, commandView } from './views.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const ConfigView = Type.Object({
  deviceId: Type.String(),
  version: Type.Integer(),
  config: Type.Unknown({ description: 'the DesiredConfig payload as published to the device' }),
  createdBy: Type.String(),
  createdAt: EpochMs,
  reported: nullable(
    Type.Object({
      version: Type.Integer(),
      applied: Type.Boolean(),
      error: nullable(Type.Object({ code: Type.String(), message: Type.String() })),
      at: EpochMs,
    }),
  ),
});
const ConfigBody = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'a DesiredConfig; `v`, `version` (must then be the next one) and `limits` (default: the platform limits) may be left out',
  },
);
const CommandBody = Type.Object(
  {
    name: Name,
    args: Type.Optional(CommandArgsSchema),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'the device ignores it after this long (default 1 h)' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(PageQuery, { additionalProperties: false });

function configView(desired: DesiredConfigRecord, reported: ReportedConfigRecord | undefined): Static<typeof ConfigView> {
  return {
    deviceId: desired.deviceId,
    version: desired.version,
    config: desired.config,
    createdBy: desired.createdBy,
    createdAt: desired.createdAt,
    reported: reported === undefined ? null : { version: reported.version, applied: reported.applied, error: reported.error, at: reported.at },
  };
}

/** Desired config and commands of a device (delivered over MQTT by the broker through the registry port). */
export function registerInstructionRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth, audit } = deps;

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/devices/:id/config',
    { onRequest: auth.guard('viewer'), schema: { tags: ['config'], summary: "A device's latest desired config and what it last reported", params: IdParams, response: { 200: ConfigView, ...errorResponses } } },
    async (request) => {
      const { desired, reported } = await services.configs.get(request.params.id);
      return configView(desired, reported);
    },
  );

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof ConfigBody> }>(
    '/api/v1/devices/:id/config',
    {
      onRequest: auth.guard('operator'),
      schema: { tags: ['config'], summary: 'Set the desired config of a device (stored as the next version)', params: IdParams, body: ConfigBody, response: { 200: ConfigView, ...errorResponses } },
    },
    async (request) => {
      const stored = await services.configs.put(request.params.id, request.body as Record<string, unknown>, auth.principal(request).username);
      audit.annotate(request, { target: `${stored.deviceId}@${stored.version}` });
      return configView(stored, undefined);
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v1/devices/:id/commands',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags: ['commands'], summary: "A device's commands, newest first", params: IdParams, querystring: ListQuery, response: { 200: pageOf(CommandView), ...errorResponses } },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const before = decodeCursor(request.query.cursor, isString);
      const items = await services.commands.list(request.params.id, { limit, ...(before === undefined ? {} : { before }) });
      return page(items.map(commandView), limit, (c) => c.id);
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CommandBody> }>(
    '/api/v1/devices/:id/commands',
    {
      onRequest: auth.guard('operator'),
      schema: { tags: ['commands'], summary: 'Queue a command for a device', params: IdParams, body: CommandBody, response: { 201: CommandView, ...errorResponses } },
    },
    async (request, reply) => {
      const command = await services.commands.create(request.params.id, request.body, auth.principal(request).username);
      audit.annotate(request, { target: `${command.deviceId}/${command.id}` });
      return reply.status(201).send(commandView(command));
    },
  );
}
