/**
 * Downloads an artifact into its staging file over HTTPS (node:https; the device's client
 * certificate for mTLS, the pinned CA), resuming with `Range` from the last verified byte —
 * after a dropped connection or an agent restart alike, never from zero — and `If-Range` with the
 * ETag the server gave, so a changed file is never spliced onto an old prefix. Each chunk of the
 * manifest is hashed before it is written: a wrong chunk stops the download at that chunk
 * (OTA_CHUNK_MISMATCH, never retried: the server holds a bad file). Network errors and 5xx/429
 * answers are retried with backoff; `attempts` consecutive failures without progress give up.
 */
import { createHash } from 'node:crypto';
import { open, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { OutpostError } from '@outpost/protocol';
import type { Manifest } from '@outpost/protocol';
import { createBackoff } from '../connection/backoff.js';
import { readTextIfExists } from '../identity/atomic-file.js';
import { chunkLength, verifiedPrefix } from './staged-file.js';
import { abortableSleep } from './abortable-sleep.js';

export interface DownloadRetry {
  readonly minMs: number;
  readonly maxMs: number;
  /** Consecutive failed attempts without progress before the download fails. */
  readonly attempts: number;
}

export interface DownloadOptions {
  readonly url: URL;
  readonly file: string;
  readonly manifest: Manifest;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly retry: DownloadRetry;
  readonly signal: AbortSignal;
  /** Verified bytes on disk so far. */
  onProgress(bytes: number): void;
  readonly log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  /** An answer that stalls this long is a network error; default 30 s. */
  readonly idleTimeoutMs?: number;
}

export interface DownloadResult {
  /** Where this download started (bytes verified from an earlier run). */
  readonly resumedFrom: number;
  readonly requests: number;
}

/** A failure worth another attempt (network, 5xx, 429). */
class Retryable extends Error {}

/**
 * Synced to disk every this many bytes (and at the end). Not every chunk: a restart re-hashes the
 * staged chunks anyway (verifiedPrefix), so a power cut loses at most this much, never correctness.
 */
const FSYNC_EVERY_BYTES = 8 * 1024 * 1024;

export async function downloadArtifact(options: DownloadOptions): Promise<DownloadResult> {
  const { manifest, file, signal } = options;
  const etagFile = `${file}.etag`;
  let offset = await verifiedPrefix(file, manifest);
  const resumedFrom = offset;
  let etag = offset > 0 ? (await readTextIfExists(etagFile))?.trim() : undefined;
  const backoff = createBackoff({ minMs: options.retry.minMs, maxMs: options.retry.maxMs });
  let requests = 0;
  let failures = 0;
  let restartedWhole = false;
  options.onProgress(offset);
  while (offset < manifest.size || (offset === 0 && manifest.size === 0 && requests === 0)) {
    if (signal.aborted) throw signal.reason;
    requests += 1;
    const before = offset;
    try {
      const answer = await get(options, offset, etag);
      // The ETag is kept as soon as the answer starts: a break mid-body still resumes with If-Range.
      const given = answer.headers['etag'];
      if ((answer.statusCode === 200 || answer.statusCode === 206) && typeof given === 'string' && given !== '' && given !== etag) {
        etag = given;
        await writeFile(etagFile, `${etag}\n`, { mode: 0o600 });
      }
      offset = await receive(answer, options, offset);
      if (manifest.size === 0) break;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err instanceof Restart) {
        offset = 0;
        etag = undefined;
        continue;
      }
      if (!(err instanceof Retryable)) throw err;
      offset = await verifiedPrefix(file, manifest);
      if (offset > before) {
        backoff.reset();
        failures = 0;
      }
      failures += 1;
      if (failures >= options.retry.attempts) {
        throw new OutpostError('OTA_DOWNLOAD_FAILED', `the download failed ${failures} times in a row without progress; last: ${err.message}`, { cause: err });
      }
      const waitMs = backoff.next();
      options.log.warn({ err: err.message, offset, waitMs }, 'download interrupted; resuming from the last verified byte');
      await abortableSleep(waitMs, signal);
      continue;
    }
    backoff.reset();
    failures = 0;
    if (offset >= manifest.size && manifest.chunks === undefined && !restartedWhole) {
      // Without chunk hashes a resumed prefix is unproven: one full download more if the whole file is wrong.
      const good = await wholeFileMatches(file, manifest);
      if (!good && resumedFrom > 0) {
        restartedWhole = true;
        await rm(file, { force: true });
        offset = 0;
        etag = undefined;
      }
    }
  }
  await rm(etagFile, { force: true });
  return { resumedFrom, requests };
}

/** The server ignored the range, or the file changed: start over from byte 0. */
class Restart extends Error {}

async function wholeFileMatches(file: string, manifest: Manifest): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    for await (const piece of handle.createReadStream({ autoClose: false })) hash.update(piece as Buffer);
    return hash.digest('hex') === manifest.sha256;
  } finally {
    await handle.close();
  }
}


async function get(options: DownloadOptions, offset: number, etag: string | undefined): Promise<IncomingMessage> {
  const { url, tls, signal } = options;
  const headers: Record<string, string> = { accept: 'application/octet-stream' };
  if (offset > 0) {
    headers['range'] = `bytes=${offset}-`;
    if (etag !== undefined) headers['if-range'] = etag;
  }
  const timeout = options.idleTimeoutMs ?? 30_000;
  // Loaded on first use, as in identity/device-https.ts.
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req =
      url.protocol === 'https:'
        ? request(url, { method: 'GET', headers, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: true, agent: false, timeout, signal })
        : request(url, { method: 'GET', headers, agent: false, timeout, signal });
    req.on('response', resolve);
    req.on('timeout', () => req.destroy(new Retryable(`no data from ${url.origin} within ${timeout} ms`)));
    req.on('error', (err) => {
      if (err instanceof Retryable || signal.aborted) reject(err);
      else if (/CERT|SELF_SIGNED|ALTNAME/.test((err as NodeJS.ErrnoException).code ?? '')) {
        reject(new OutpostError('OTA_DOWNLOAD_UNTRUSTED', `${url.origin} presented a certificate the pinned CA does not vouch for: ${err.message}`, { cause: err }));
      } else reject(new Retryable(`cannot reach ${url.origin}: ${err.message}`));
    });
    req.end();
  });
}

async function drainText(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const piece of res) {
    if (text.length < 2048) text += (piece as Buffer).toString('utf8');
  }
  return text.slice(0, 300);
}

async function receive(res: IncomingMessage, options: DownloadOptions, start: number): Promise<number> {
  const { manifest, file } = options;
  const status = res.statusCode ?? 0;
  if (status === 429 || status >= 500) throw new Retryable(`the server answered ${status}: ${await drainText(res)}`);
  if (status === 416 || (status === 200 && start > 0) || (status !== 200 && status !== 206)) {
    if (status === 416 || status === 200) {
      res.resume();
      if (status === 200) options.log.info({ offset: start }, 'the server sent the whole artifact (range ignored or the file changed): starting over');
      await rm(file, { force: true });
      throw new Restart();
    }
    throw new OutpostError('OTA_DOWNLOAD_REFUSED', `the server refused the download (${status}): ${await drainText(res)}`, { status });
  }
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (range === null || Number(range[1]) !== start) {
      res.resume();
      await rm(file, { force: true });
      throw new Restart();
    }
  }
  const handle = await open(file, start === 0 ? 'w' : 'r+', 0o600);
  let offset = start;
  let unsynced = 0;
  let index = manifest.chunkSize === undefined ? 0 : Math.floor(start / manifest.chunkSize);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const chunked = manifest.chunks !== undefined;
  async function put(data: Buffer): Promise<void> {
    await handle.write(data, 0, data.length, offset);
    offset += data.length;
    unsynced += data.length;
    if (unsynced >= FSYNC_EVERY_BYTES) {
      await handle.sync();
      unsynced = 0;
      options.onProgress(offset);
    }
  }
  try {
    for await (const raw of res) {
      const piece = raw as Buffer;
      if (offset + pendingBytes + piece.length > manifest.size) {
        throw new OutpostError('OTA_SIZE_MISMATCH', `the server sent more than the manifest's ${manifest.size} bytes`);
      }
      if (!chunked) {
        await put(piece);
        continue;
      }
      pending.push(piece);
      pendingBytes += piece.length;
      for (;;) {
        const need = chunkLength(manifest, index);
        if (need === 0 || pendingBytes < need) break;
        const all = Buffer.concat(pending, pendingBytes);
        const chunk = all.subarray(0, need);
        const digest = createHash('sha256').update(chunk).digest('hex');
        if (digest !== manifest.chunks?.[index]) {
          throw new OutpostError('OTA_CHUNK_MISMATCH', `chunk ${index} (bytes ${offset}-${offset + need - 1}) has SHA-256 ${digest}; the manifest says ${manifest.chunks?.[index] ?? 'nothing'}: refused before writing it`);
        }
        await put(chunk);
        options.onProgress(offset);
        index += 1;
        const rest = all.subarray(need);
        pending = rest.length === 0 ? [] : [Buffer.from(rest)];
        pendingBytes = rest.length;
      }
    }
    if (!res.complete) throw new Retryable(`the answer ended early at byte ${offset + pendingBytes}`);
    if (offset < manifest.size) throw new Retryable(`the answer ended at byte ${offset + pendingBytes} of ${manifest.size}`);
  } catch (err) {
    if (err instanceof OutpostError || err instanceof Retryable) throw err;
    if (options.signal.aborted) throw options.signal.reason;
    throw new Retryable(`the download broke off: ${(err as Error).message}`);
  } finally {
    await handle.sync().catch(() => undefined);
    await handle.close();
    options.onProgress(offset);
  }
  return offset;
}
