import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { parseFirmwareFilter, parseTagFilter, type DeviceQuery } from '../domain/device-query.js';
import type { LifecycleAction } from '../domain/lifecycle.js';
import type { OperatorRouteDeps } from './operator-deps.js';
import { decodeCursor, errorResponses, isString, page, pageOf, PageQuery } from '@outpost/kernel';
import { GroupNameSchema, MetadataMap, TagMap } from './schemas.js';
import { CertificateView, DeviceView, certificateView, deviceView } from './views.js';

const ListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 128, description: 'free text: id, group, hardware, tags, metadata' })),
    group: Type.Optional(GroupNameSchema),
    tag: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 16, description: 'k=v (tag k equals v) or k (tag k present); repeatable' })),
    status: Type.Optional(Type.Enum(['active', 'suspended', 'revoked', 'decommissioned'], { description: 'lifecycle state; default: all but decommissioned' })),
    online: Type.Optional(Type.Boolean()),
    firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'name@version, or a name or a version' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const PatchBody = Type.Object(
  {
    group: Type.Optional(GroupNameSchema),
    tags: Type.Optional(TagMap),
    metadata: Type.Optional(MetadataMap),
  },
  { additionalProperties: false, minProperties: 1 },
);
const CertificateList = Type.Object({ items: Type.Array(CertificateView) });

export function registerDeviceAdminRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth, now } = deps;
  const tags = ['devices'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/devices',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List devices with filters', querystring: ListQuery, response: { 200: pageOf(DeviceView), ...errorResponses } } },
    async (request) => {
      const { q, group, tag, status, online, firmware, cursor } = request.query;
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(cursor, isString);
      const query: DeviceQuery = {
        limit,
        tags: (tag ?? []).map(parseTagFilter),
        ...(q === undefined ? {} : { q }),
        ...(group === undefined ? {} : { group }),
        ...(status === undefined ? {} : { status }),
        ...(online === undefined ? {} : { online }),
        ...(firmware === undefined ? {} : { firmware: parseFirmwareFilter(firmware) }),
        ...(after === undefined ? {} : { after }),
      };
      const devices = await services.devices.list(query);
      return page(
        devices.map((d) => deviceView(d)),
        limit,
        (d) => d.id,
      );
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/devices/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show a device with its certificates', params: IdParams, response: { 200: DeviceView, ...errorResponses } } },
    async (request) => {
      const device = await services.devices.get(request.params.id);
      const list = await services.devices.certificates(device.id);
      return deviceView(device, { list, now: now() });
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    '/api/v1/devices/:id',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: "Change a device's group, tags or metadata (tags and metadata are replaced whole)", params: IdParams, body: PatchBody, response: { 200: DeviceView, ...errorResponses } },
    },
    async (request) => deviceView(await services.devices.patch(request.params.id, request.body)),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v1/devices/:id',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Delete (decommission) a device: its certificates are revoked and its id freed for a new enrollment', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      await services.lifecycle.apply(request.params.id, 'delete');
      return reply.status(204).send();
    },
  );

  const actions: readonly [LifecycleAction, string][] = [
    ['suspend', 'Suspend a device: it cannot connect or renew until resumed'],
    ['resume', 'Resume a suspended device'],
    ['revoke', 'Revoke a device and all its unexpired certificates (for good)'],
  ];
  for (const [action, summary] of actions) {
    app.post<{ Params: Static<typeof IdParams> }>(
      `/api/v1/devices/:id/${action}`,
      { onRequest: auth.guard('operator'), schema: { tags, summary, params: IdParams, response: { 200: DeviceView, ...errorResponses } } },
      async (request) => deviceView(await services.lifecycle.apply(request.params.id, action)),
    );
  }

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/devices/:id/certificates',
    { onRequest: auth.guard('viewer'), schema: { tags: ['certificates'], summary: "A device's certificates, newest first, with PEM", params: IdParams, response: { 200: CertificateList, ...errorResponses } } },
    async (request) => {
      const at = now();
      return { items: (await services.devices.certificates(request.params.id)).map((c) => certificateView(c, at, true)) };
    },
  );
}
