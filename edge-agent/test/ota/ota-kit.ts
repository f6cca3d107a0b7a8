/**
 * What the OTA suites share: Ed25519 signers (node:crypto) for manifests and TrustSets, real
 * .tar.gz artifacts (the tar CLI), manifests with per-chunk SHA-256, and an HTTPS artifact server
 * with Range / ETag / If-Range that records every request and can hold an answer after N bytes.
 * The server stands in for the platform's `GET /device/v1/firmware/{artifactId}` (helper A's
 * route) in these suites, as mosquitto stands in for the broker's retained `ota/job`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { manifestSigningBytes, trustSetSigningBytes } from '@outpost/protocol';
import type { Manifest, OtaJob, TrustSet } from '@outpost/protocol';

export interface Signer {
  readonly keyId: string;
  readonly entry: TrustSet['keys'][number];
  signManifest(manifest: Manifest): OtaJob['signature'];
  signTrust(body: Omit<TrustSet, 'signatures'>): TrustSet['signatures'][number];
}

export function signer(keyId: string): Signer {
  const pair = generateKeyPairSync('ed25519');
  const entry = { keyId, alg: 'ed25519' as const, publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
  return {
    keyId,
    entry,
    signManifest: (manifest) => ({ keyId, sig: sign(null, manifestSigningBytes(manifest), pair.privateKey).toString('base64') }),
    signTrust: (body) => ({ keyId, sig: sign(null, trustSetSigningBytes(body), pair.privateKey).toString('base64') }),
  };
}

export function trustSetOf(...signers: Signer[]): TrustSet {
  return { v: 1, version: 1, keys: signers.map((s) => s.entry), signatures: [] };
}

/** A .tar.gz holding `files` (path → content; mode 0755 for names ending in .sh). */
export async function tarGz(files: Readonly<Record<string, string | Buffer>>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'ota-artifact-'));
  try {
    const root = join(dir, 'root');
    for (const [name, content] of Object.entries(files)) {
      const path = join(root, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
    }
    execFileSync('tar', ['-czf', join(dir, 'a.tar.gz'), '-C', root, '.']);
    return await readFile(join(dir, 'a.tar.gz'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export function manifestFor(bytes: Buffer, fields: Partial<Manifest> & Pick<Manifest, 'name' | 'version'>, chunkSize = 4096): Manifest {
  const chunks: string[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(sha256(bytes.subarray(at, at + chunkSize)));
  return {
    v: 1,
    id: `${fields.name}-${fields.version}`.replace(/[^A-Za-z0-9_.:-]/g, '-'),
    type: 'archive',
    hardware: ['test-board'],
    size: bytes.length,
    sha256: sha256(bytes),
    createdAt: Date.now(),
    chunkSize,
    chunks,
    ...fields,
  };
}

export function jobFor(manifest: Manifest, by: Signer, url: string, extra: Partial<OtaJob> = {}): OtaJob {
  return {
    v: 1,
    jobId: `job-${manifest.id}-${Math.random().toString(36).slice(2, 8)}`,
    rolloutId: 'rollout-test',
    manifest,
    signature: by.signManifest(manifest),
    url,
    allowDowngrade: false,
    confirmDeadlineS: 30,
    ...extra,
  };
}

export interface SeenRequest {
  readonly path: string;
  readonly range?: string;
  readonly ifRange?: string;
  readonly clientCn?: string;
}

export interface ArtifactServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Serves `bytes` at `/fw/{id}`. */
  put(id: string, bytes: Buffer): string;
  /** The next answer (one) stops after sending `bytes` of the file (absolute offset) until release(). */
  holdAt(bytes: number): void;
  release(): void;
  close(): Promise<void>;
}

export async function startArtifactServer(tls: { ca: string; cert: string; key: string }): Promise<ArtifactServer> {
  const files = new Map<string, Buffer>();
  const requests: SeenRequest[] = [];
  let holdAt: number | undefined;
  let waiting: (() => void)[] = [];
  const server: Server = createServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const cn = peer.subject?.CN;
    requests.push({
      path: req.url ?? '',
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
      ...(typeof req.headers['if-range'] === 'string' ? { ifRange: req.headers['if-range'] } : {}),
      ...(typeof cn === 'string' ? { clientCn: cn } : {}),
    });
    const id = /^\/fw\/([^/?]+)$/.exec(req.url ?? '')?.[1];
    const file = id === undefined ? undefined : files.get(id);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such artifact' }));
      return;
    }
    const etag = `"${sha256(file).slice(0, 16)}"`;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range !== null && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= file.length) {
        res.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${file.length - 1}/${file.length}`, 'content-length': file.length - start, etag, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': file.length, etag, 'accept-ranges': 'bytes' });
    }
    const hold = holdAt;
    holdAt = undefined;
    if (hold === undefined || hold <= start) {
      res.end(file.subarray(start));
      return;
    }
    res.write(file.subarray(start, Math.min(hold, file.length)));
    waiting.push(() => res.end(file.subarray(Math.min(hold, file.length))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  return {
    url,
    requests,
    put(id, bytes) {
      files.set(id, bytes);
      return `${url}/fw/${id}`;
    },
    holdAt(bytes) {
      holdAt = bytes;
    },
    release() {
      holdAt = undefined;
      const go = waiting;
      waiting = [];
      for (const w of go) w();
    },
    async close() {
      holdAt = undefined;
      waiting = [];
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
