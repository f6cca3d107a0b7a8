/**
 * POST /api/v1/backups on the in-process platform: admins only, a .tar.gz whose manifest
 * matches; on a PostgreSQL state database it refuses with the reason (use pg_dump).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceTimeoutMs, startPostgres } from '@outpost/e2e';
import { readBackup } from '../../src/backup/read-backup.js';
import { ADMIN_PASSWORD, startTestPlatform } from '../helpers/test-platform.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('POST /api/v1/backups', () => {
  it('streams a verified archive to an admin and refuses a viewer', async () => {
    const app = await startTestPlatform();
    cleanups.push(() => app.close());
    const admin = await app.login('admin', ADMIN_PASSWORD);
    const viewer = await app.request('POST', '/api/v1/users', { token: admin, body: { username: 'vera', role: 'viewer', password: 'viewer-password-123' } });
    expect(viewer.status).toBe(201);
    const viewerToken = await app.login('vera', 'viewer-password-123');
    const refused = await app.request('POST', '/api/v1/backups', { token: viewerToken });
    expect(refused.status).toBe(403);

    const res = await fetch(`${app.url}/api/v1/backups`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="outpost-backup-.+\.tar\.gz"$/);
    const dir = await mkdtemp(join(tmpdir(), 'outpost-backup-route-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'b.tar.gz');
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
    const read = await readBackup(file);
    expect(read.manifest.entries.map((e) => e.path)).toEqual(['state.db']);
    expect(read.manifest.server.telemetry).toBe('embedded');
  });

  it('refuses on a PostgreSQL state database: use pg_dump', { timeout: serviceTimeoutMs(90_000) }, async () => {
    const postgres = await startPostgres();
    cleanups.push(() => postgres.stop());
    const url = await postgres.createDatabase('backup_route');
    const app = await startTestPlatform({ env: { OUTPOST_DATABASE_URL: url } });
    cleanups.push(() => app.close());
    const admin = await app.login('admin', ADMIN_PASSWORD);
    const res = await app.request('POST', '/api/v1/backups', { token: admin });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'BACKUP_DATABASE_EXTERNAL', message: expect.stringContaining('pg_dump') as unknown });
  });
});
