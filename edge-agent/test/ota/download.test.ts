/*
 * The download against a real HTTPS server (Range, ETag, If-Range, client certificate
 * requested): resume from the last verified chunk, a wrong chunk refused before it is written,
 * a dropped answer retried with a Range request, a 404 refused for good.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutpostError } from '@outpost/protocol';
import type { Manifest } from '@outpost/protocol';
import { downloadArtifact } from '../../src/ota/download.js';
import type { DownloadOptions } from '../../src/ota/download.js';
import { verifiedPrefix, verifyStagedFile } from '../../src/ota/staged-file.js';
import { makeTestPki } from '../identity/test-pki.js';
import type { TestPki } from '../identity/test-pki.js';
import { manifestFor, startArtifactServer } from './ota-kit.js';
import type { ArtifactServer } from './ota-kit.js';

const CHUNK = 4096;
const quiet = { warn: () => undefined, info: () => undefined };

describe('downloading an artifact', () => {
  let pki: TestPki;
  let server: ArtifactServer;
  let dir: string;
  const bytes = randomBytes(CHUNK * 10 + 123);
  const manifest = manifestFor(bytes, { name: 'app', version: '1.0.0' }, CHUNK);

  beforeAll(async () => {
    pki = await makeTestPki();
    server = await startArtifactServer({ ca: pki.caPem, cert: pki.serverCertPem, key: pki.serverKeyPem });
    dir = await mkdtemp(join(tmpdir(), 'ota-download-'));
  });
  afterAll(async () => {
    await server?.close();
    await pki?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  function options(file: string, url: string, m: Manifest = manifest, progress: number[] = []): DownloadOptions {
    return {
      url: new URL(url),
      file,
      manifest: m,
      tls: { ca: pki.caPem, cert: pki.serverCertPem, key: pki.serverKeyPem },
      retry: { minMs: 10, maxMs: 50, attempts: 5 },
      signal: new AbortController().signal,
      onProgress: (b) => progress.push(b),
      log: quiet,
    };
  }

  it('downloads and verifies every chunk, reporting progress up to the size', async () => {
    const url = server.put('whole', bytes);
    const file = join(dir, 'whole.part');
    const progress: number[] = [];
    const result = await downloadArtifact(options(file, url, manifest, progress));
    expect(result).toEqual({ resumedFrom: 0, requests: 1 });
    await verifyStagedFile(file, manifest);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(server.requests.filter((r) => r.path === '/fw/whole')).toEqual([{ path: '/fw/whole', clientCn: 'localhost' }]);
  });

  it('resumes a partial file from its last verified chunk with a Range request, dropping a torn tail', async () => {
    const url = server.put('resume', bytes);
    const file = join(dir, 'resume.part');
    // What a power cut leaves: 3 good chunks, then half a chunk of garbage.
    await writeFile(file, Buffer.concat([bytes.subarray(0, CHUNK * 3), randomBytes(CHUNK / 2)]));
    expect(await verifiedPrefix(file, manifest)).toBe(CHUNK * 3);
    await writeFile(file, Buffer.concat([bytes.subarray(0, CHUNK * 3), randomBytes(CHUNK / 2)]));
    const result = await downloadArtifact(options(file, url));
    expect(result.resumedFrom).toBe(CHUNK * 3);
    expect(server.requests.filter((r) => r.path === '/fw/resume').map((r) => r.range)).toEqual([`bytes=${CHUNK * 3}-`]);
    await verifyStagedFile(file, manifest);
  });

  it('refuses a flipped byte at its chunk, before writing that chunk', async () => {
    const bad = Buffer.from(bytes);
    bad[CHUNK * 5 + 17] = (bad[CHUNK * 5 + 17] ?? 0) ^ 0xff;
    const url = server.put('flipped', bad);
    const file = join(dir, 'flipped.part');
    const error = await downloadArtifact(options(file, url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutpostError);
    expect(error).toMatchObject({ code: 'OTA_CHUNK_MISMATCH', message: expect.stringContaining('chunk 5 ') });
    expect((await stat(file)).size).toBe(CHUNK * 5);
    expect(server.requests.filter((r) => r.path === '/fw/flipped')).toHaveLength(1);
  });

  it('retries an answer that broke off, from where the verified bytes end, with If-Range', async () => {
    const url = server.put('dropped', bytes);
    const file = join(dir, 'dropped.part');
    server.holdAt(CHUNK * 4 + 100);
    const done = await downloadArtifact({ ...options(file, url), idleTimeoutMs: 300 });
    server.release();
    expect(done.resumedFrom).toBe(0);
    const seen = server.requests.filter((r) => r.path === '/fw/dropped');
    expect(seen[0]?.range).toBeUndefined();
    expect(seen[1]).toMatchObject({ range: `bytes=${CHUNK * 4}-`, ifRange: expect.stringMatching(/^"/) });
    expect(Buffer.compare(await readFile(file), bytes)).toBe(0);
  });

  it('gives up at once on a refusal (404) with the server’s reason', async () => {
    const error = await downloadArtifact(options(join(dir, 'missing.part'), `${server.url}/fw/nothing`)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OTA_DOWNLOAD_REFUSED', message: expect.stringContaining('404') });
  });

  it('fails after the configured attempts when the server is unreachable', async () => {
    const error = await downloadArtifact(options(join(dir, 'down.part'), 'https://127.0.0.1:9/fw/x')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OTA_DOWNLOAD_FAILED', message: expect.stringContaining('5 times') });
  });
});
