/**
 * `GET /device/v1/firmware/{artifactId}` on the device listener (SPEC "Listeners"; issue 13
 * item 3): the device proves who it is with its client certificate (verified against the
 * platform CA by TLS, then checked with the registry: active device, its own unrevoked
 * certificate), and may fetch only an artifact it has a job for. Single byte ranges (206),
 * 416 when unsatisfiable, ETag = the SHA-256 with If-Range; streamed from the blob file,
 * never buffered; bounded concurrency (503 + Retry-After) and optional per-device pacing.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Listeners, RegistryPort } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';
import type { Static } from 'typebox';
import type { ArtifactStore } from '../adapters/artifact-store.js';
import type { BlobStore } from '../adapters/blob-store.js';
import { pace, type DownloadGate } from '../services/download-gate.js';
import { decideRange } from './byte-range.js';
import { DownloadParams } from './schemas.js';

export interface DownloadRouteDeps {
  readonly registry: RegistryPort;
  readonly artifacts: ArtifactStore;
  readonly blobs: BlobStore;
  readonly gate: DownloadGate;
  hasJobFor(deviceId: string, artifactId: string): Promise<boolean>;
  /** Per-device pacing; 0 = none. */
  readonly bytesPerS: number;
  /** Seconds a refused (busy) device is told to wait. */
  readonly retryAfterS: number;
  readonly metrics: { served(bytes: number): void; refused(reason: string): void; started(): void };
}

/** The device id (certificate CN) and serial of a TLS client certificate the platform CA verified. */
function clientIdentity(request: FastifyRequest): { deviceId: string; serial: string } | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  const cert = socket.getPeerCertificate(false);
  const cn: unknown = (cert as { subject?: { CN?: unknown } } | null)?.subject?.CN;
  const serial = cert?.serialNumber;
  if (typeof cn !== 'string' || typeof serial !== 'string' || serial === '') return undefined;
  return { deviceId: cn, serial };
}

export function registerDownloadRoute(app: Listeners['device'], deps: DownloadRouteDeps): void {
  const { registry, artifacts, blobs, gate, metrics } = deps;

  app.get<{ Params: Static<typeof DownloadParams> }>(
    '/device/v1/firmware/:artifactId',
    { schema: { tags: ['device'], summary: 'Download a firmware artifact the device has a job for (client certificate; HTTP Range)', params: DownloadParams } },
    async (request: FastifyRequest<{ Params: Static<typeof DownloadParams> }>, reply: FastifyReply) => {
      const identity = clientIdentity(request);
      if (identity === undefined) {
        metrics.refused('unauthenticated');
        throw new OutpostError('OTA_DOWNLOAD_UNAUTHENTICATED', 'a firmware download needs the device client certificate issued by this platform');
      }
      const check = await registry.checkCertificate(identity.deviceId, identity.serial);
      if (!check.ok) {
        metrics.refused('certificate');
        throw new OutpostError('OTA_DOWNLOAD_FORBIDDEN', `the client certificate is refused: ${check.reason} (${check.code})`);
      }
      const { artifactId } = request.params;
      if (!(await deps.hasJobFor(identity.deviceId, artifactId))) {
        metrics.refused('no-job');
        throw new OutpostError('OTA_DOWNLOAD_FORBIDDEN', `device ${identity.deviceId} has no update job for artifact ${artifactId}`);
      }
      const artifact = await artifacts.get(artifactId);
      if (artifact === undefined) {
        metrics.refused('not-found');
        throw new OutpostError('OTA_ARTIFACT_NOT_FOUND', `no firmware artifact ${artifactId}`);
      }
      const etag = `"${artifact.sha256}"`;
      const size = artifact.size;
      const ifRange = request.headers['if-range'];
      const range = decideRange(request.headers.range, size, typeof ifRange === 'string' ? ifRange : undefined, etag);
      void reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, no-transform');
      if (range.kind === 'unsatisfiable') {
        metrics.refused('range');
        void reply.header('content-range', `bytes */${size}`);
        throw new OutpostError('OTA_RANGE_NOT_SATISFIABLE', `the range ${String(request.headers.range)} is outside the artifact's ${size} bytes`, { status: 416 });
      }
      const release = gate.acquire();
      if (release === undefined) {
        metrics.refused('busy');
        void reply.header('retry-after', String(deps.retryAfterS));
        throw new OutpostError('OTA_DOWNLOAD_BUSY', `${gate.maxConcurrent} downloads are in flight; retry in ${deps.retryAfterS} s`);
      }
      metrics.started();
      reply.raw.once('close', release);
      const start = range.kind === 'partial' ? range.start : 0;
      const end = range.kind === 'partial' ? range.end : size - 1;
      const length = size === 0 ? 0 : end - start + 1;
      void reply.header('content-type', 'application/octet-stream').header('content-length', String(length));
      if (range.kind === 'partial') void reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`);
      if (request.method === 'HEAD') {
        // fastify would answer an empty body with Content-Length 0: write the head ourselves.
        release();
        void reply.hijack();
        reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
        reply.raw.end();
        return reply;
      }
      if (length === 0) return reply.send('');
      const file = blobs.read(artifact.sha256, { start, end });
      file.on('data', (chunk: Buffer | string) => metrics.served(chunk.length));
      if (deps.bytesPerS <= 0) return reply.send(file);
      // pipeline: a device that goes away mid-download closes the file too.
      const paced = pace(deps.bytesPerS);
      pipeline(file, paced, () => undefined);
      return reply.send(paced);
    },
  );
}
