/**
 * JSON over the device HTTPS listener with a pinned CA (and the device certificate for mTLS
 * renewal). node:https only: the agent carries no HTTP client dependency.
 */
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';
import { OutpostError } from '@outpost/protocol';

export interface DeviceHttpsOptions {
  /** Trusted CA certificates, PEM; required for https. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly timeoutMs?: number;
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

const MAX_ANSWER_BYTES = 1024 * 1024;

export async function requestJson(url: URL, method: 'GET' | 'POST', body: unknown, options: DeviceHttpsOptions): Promise<JsonAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { accept: 'application/json, application/x-pem-file' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const timeout = options.timeoutMs ?? 15_000;
  // Loaded on first use: the agent talks HTTPS to its server only to enroll, renew and download
  // updates, and node:http(s) cost memory on every device while it does not (issue 12).
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<JsonAnswer>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.destroy(new OutpostError('AGENT_SERVER_ANSWER_TOO_LARGE', `the answer of ${url.origin} exceeds ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        if ((res.headers['content-type'] ?? '').includes('json')) {
          try {
            parsed = JSON.parse(text) as unknown;
          } catch {
            parsed = text;
          }
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    };
    const req =
      url.protocol === 'https:'
        ? request(url, { method, headers, ca: options.ca, cert: options.cert, key: options.key, timeout, rejectUnauthorized: true, agent: false }, onResponse)
        : request(url, { method, headers, timeout, agent: false }, onResponse);
    req.on('timeout', () => req.destroy(new OutpostError('AGENT_SERVER_UNAVAILABLE', `no answer from ${url.origin} within ${timeout} ms`)));
    req.on('error', (err) => reject(wrapNetworkError(url, err)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function wrapNetworkError(url: URL, err: Error): OutpostError {
  if (err instanceof OutpostError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code.includes('CERT') || code.includes('SELF_SIGNED') || code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new OutpostError('AGENT_SERVER_UNTRUSTED', `${url.origin} presented a certificate the pinned CA does not vouch for (${code})`, { cause: err });
  }
  return new OutpostError('AGENT_SERVER_UNAVAILABLE', `cannot reach ${url.origin}: ${err.message}`, { cause: err });
}

/**
 * The certificate chain the server presents in its TLS handshake, PEM, unverified (the caller
 * checks it against a pinned fingerprint before trusting anything). Nothing is sent.
 */
export async function presentedChain(url: URL, timeoutMs = 15_000): Promise<string> {
  const port = Number(url.port === '' ? 443 : url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise<string>((resolve, reject) => {
    const socket = connect({ host, port, servername: isIp(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const pems: string[] = [];
      const seen = new Set<string>();
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert !== undefined && cert.raw !== undefined && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        pems.push(derToPem(cert.raw));
        cert = cert.issuerCertificate;
      }
      socket.destroy();
      resolve(pems.join(''));
    });
    socket.once('timeout', () => socket.destroy(new OutpostError('AGENT_SERVER_UNAVAILABLE', `no TLS handshake with ${url.host} within ${timeoutMs} ms`)));
    socket.once('error', (err) => reject(wrapNetworkError(url, err)));
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Turns a non-2xx answer into a coded error carrying the server's code and message. */
export function answerError(what: string, answer: JsonAnswer): OutpostError {
  const body = answer.body as { code?: unknown; message?: unknown } | string;
  const code = typeof body === 'object' && body !== null && typeof body.code === 'string' ? body.code : `HTTP_${answer.status}`;
  const message = typeof body === 'object' && body !== null && typeof body.message === 'string' ? body.message : answer.text.slice(0, 200);
  return new OutpostError(code, `${what} refused (${answer.status} ${code}): ${message}`, { status: answer.status });
}
