/**
 * `POST /api/v1/backups` (admin): answers a backup archive of the running server as a
 * .tar.gz stream (docs/adr/0012-backup.md). The database copy is taken before the first byte,
 * so a failure there is a coded JSON error; a failure later cuts the stream, which the CLI
 * sees as a truncated archive when it verifies the file. Audited as `backups.create`.
 */
import type { FastifyInstance } from 'fastify';
import { OutpostError } from '@outpost/protocol';
import type { AuthPort, OutpostConfig, StateDatabase } from '@outpost/kernel';
import { errorResponses } from '@outpost/kernel';
import type { BackedUpServer } from './backup-manifest.js';
import { createBackupStream } from './write-backup.js';

export interface BackupRouteDeps {
  readonly auth: AuthPort;
  /** The opened state database: `path` is the SQLite file; `health` is there for PostgreSQL only. */
  readonly database: { readonly db: StateDatabase; readonly path: string; readonly health?: unknown };
  readonly config: OutpostConfig;
  readonly secretKey: Buffer;
  readonly version: string;
  readonly now: () => number;
}

/** The listener settings a restored server needs to match for its devices to reconnect. */
export function backedUpServer(config: OutpostConfig): BackedUpServer {
  return {
    publicHost: config.publicHost,
    serverNames: [...config.serverNames],
    httpPort: config.http.port,
    devicePort: config.device.port,
    mqttPort: config.mqtt.port,
    telemetry: config.influx === undefined ? 'embedded' : config.influx.url,
  };
}

export function registerBackupRoutes(app: FastifyInstance, deps: BackupRouteDeps): void {
  const external = deps.database.health !== undefined || /^postgres(ql)?:/i.test(deps.database.path);
  app.post(
    '/api/v1/backups',
    {
      onRequest: deps.auth.guard('admin'),
      schema: {
        tags: ['backups'],
        summary: 'A consistent backup of the running server (state database with the sealed CA and keys, firmware blobs, manifest) as a .tar.gz stream',
        description: 'The secret key file is not in it: back it up apart. `outpost backup create FILE` calls this and verifies the archive.',
        response: { 200: { description: 'application/gzip: the archive', type: 'string', format: 'binary' }, ...errorResponses },
      },
    },
    async (_request, reply) => {
      if (external) {
        throw new OutpostError('BACKUP_DATABASE_EXTERNAL', 'the state database is PostgreSQL (OUTPOST_DATABASE_URL): back it up with pg_dump; outpost backup covers the embedded SQLite state only');
      }
      const { stream } = await createBackupStream({
        db: deps.database.db,
        dataDir: deps.config.dataDir,
        secretKey: deps.secretKey,
        outpostVersion: deps.version,
        server: backedUpServer(deps.config),
        now: deps.now,
      });
      const stamp = new Date(deps.now()).toISOString().replace(/[:.]/g, '-');
      return reply.header('content-type', 'application/gzip').header('content-disposition', `attachment; filename="outpost-backup-${stamp}.tar.gz"`).header('cache-control', 'no-store').send(stream);
    },
  );
}
