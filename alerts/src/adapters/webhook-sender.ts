/**
 * One webhook attempt: POST the AlertEvent JSON with `X-Outpost-Signature: sha256=<hex
 * HMAC-SHA256(secret, raw body)>` and `X-Outpost-Event-Id`, within a timeout. A 2xx answer is
 * success; anything else (another status, a refused connection, the timeout) is a failure the
 * caller may retry.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { WebhookTargetGuard } from './webhook-target.js';

export interface WebhookOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
  readonly latencyMs: number;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * `guard` (issue 11, D8) is checked before connecting and resolves the host for the socket, so
 * a name that now points at a loopback or link-local address is refused at delivery too.
 */
export async function sendWebhook(request: { url: string; secret: string; body: string; eventId: string; timeoutMs: number; guard: WebhookTargetGuard }): Promise<WebhookOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { ok: false, error: `not a URL: ${request.url.slice(0, 200)}`, latencyMs: elapsed() };
  }
  const refusal = await request.guard.check(url);
  if (refusal !== undefined) return { ok: false, error: `refused: ${refusal}`, latencyMs: elapsed() };
  const signal = AbortSignal.timeout(request.timeoutMs);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<WebhookOutcome, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...outcome, latencyMs: elapsed() });
    };
    const fail = (err: NodeJS.ErrnoException): void => {
      if (signal.aborted) finish({ ok: false, error: `no answer within ${request.timeoutMs} ms` });
      else if (err.code === 'WEBHOOK_TARGET_REFUSED') finish({ ok: false, error: `refused: ${err.message}`.slice(0, 500) });
      else finish({ ok: false, error: String(err.code ?? err.message).slice(0, 500) });
    };
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(request.body, 'utf8'),
          'user-agent': 'outpost-alerts/1',
          'x-outpost-signature': signBody(request.secret, request.body),
          'x-outpost-event-id': request.eventId,
        },
        // A fresh connection each time: it connects to the address the guard just checked.
        agent: false,
        lookup: request.guard.lookup,
        signal,
      },
      (res) => {
        // Read (and drop) the answer; redirects are not followed.
        res.resume();
        res.on('error', fail);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) finish({ ok: true, status });
          else finish({ ok: false, status, error: `the receiver answered ${status}` });
        });
      },
    );
    req.on('error', fail);
    req.end(request.body);
  });
}
