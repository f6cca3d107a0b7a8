/**
 * `/api/v1/firmware`: signed firmware artifacts. The upload is `multipart/form-data` with the
 * parts `manifest` (JSON), `signature` (JSON `{keyId, sig}`) and `artifact` (the bytes, last);
 * it streams through the checks into the content-addressed store (firmware-service.ts).
 */
import type { AuditPort, AuthPort, Listeners } from '@outpost/kernel';
import { decodeCursor, ErrorBody, errorResponses, page, PageQuery, pageOf } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { ArtifactRecord } from '../adapters/artifact-store.js';
import type { FirmwareService } from '../services/firmware-service.js';
import { MultipartReader, multipartBoundary } from './multipart-reader.js';
import { ArtifactIdParams, ArtifactSummary, ArtifactView } from './schemas.js';

export interface FirmwareRouteDeps {
  readonly firmware: FirmwareService;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
}

export function artifactSummary(r: ArtifactRecord): Static<typeof ArtifactSummary> {
  const m = r.manifest;
  return {
    id: r.id,
    name: m.name,
    version: m.version,
    type: m.type,
    hardware: [...m.hardware],
    size: r.size,
    sha256: r.sha256,
    createdAt: m.createdAt,
    securityVersion: m.securityVersion ?? null,
    keyId: r.signature.keyId,
    uploadedBy: r.uploadedBy,
    uploadedAt: r.uploadedAt,
  };
}

function artifactView(r: ArtifactRecord): Static<typeof ArtifactView> {
  return { ...artifactSummary(r), manifest: r.manifest, signature: r.signature };
}

const ListQuery = Type.Object(PageQuery, { additionalProperties: false });
const isPosition = (value: unknown): value is [number, string] => Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'string';

export function registerFirmwareRoutes(app: Listeners['operator'], deps: FirmwareRouteDeps): void {
  const { firmware, auth, audit } = deps;
  const tags = ['firmware'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/firmware',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List firmware artifacts, newest upload first', querystring: ListQuery, response: { 200: pageOf(ArtifactSummary), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isPosition);
      const rows = await firmware.list(limit, after);
      return page(rows.map(artifactSummary), limit, (item) => [item.uploadedAt, item.id]);
    },
  );

  app.get<{ Params: Static<typeof ArtifactIdParams> }>(
    '/api/v1/firmware/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show a firmware artifact with its signed manifest', params: ArtifactIdParams, response: { 200: ArtifactView, ...errorResponses } } },
    async (request) => artifactView(await firmware.get(request.params.id)),
  );

  app.delete<{ Params: Static<typeof ArtifactIdParams> }>(
    '/api/v1/firmware/:id',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Delete a firmware artifact no unfinished rollout uses (its blob goes when no other artifact shares it)', params: ArtifactIdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await firmware.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  // The upload reads the raw request stream: a scope of its own takes multipart bodies unparsed.
  void app.register(async (scope) => {
    scope.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null, undefined));
    scope.post(
      '/api/v1/firmware',
      {
        onRequest: auth.guard('operator'),
        schema: {
          tags,
          summary: 'Upload a signed artifact: multipart/form-data with parts manifest (JSON), signature (JSON {keyId, sig}) and artifact (bytes, last). Checked while it streams; 201 stored, 200 the same artifact was stored before.',
          consumes: ['multipart/form-data'],
          response: { 200: ArtifactView, 201: ArtifactView, ...errorResponses, 413: ErrorBody },
        },
      },
      async (request, reply) => {
        const boundary = multipartBoundary(request.headers['content-type']);
        if (boundary === undefined) throw new OutpostError('OTA_UPLOAD_INVALID', 'the upload must be multipart/form-data with a boundary');
        const reader = new MultipartReader(request.raw, boundary);
        try {
          const { record, created } = await firmware.upload(reader, auth.principal(request).username);
          audit.annotate(request, { target: `${record.id} ${record.manifest.name}@${record.manifest.version}` });
          return await reply.status(created ? 201 : 200).send(artifactView(record));
        } catch (err) {
          // A refusal before the whole body arrived: answer, then close, so the rest is not uploaded for nothing.
          if (!request.raw.complete) void reply.header('connection', 'close');
          throw err;
        }
      },
    );
  });
}
