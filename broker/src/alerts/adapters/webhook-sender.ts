/**
 * One webhook attempt: POST the AlertEvent JSON with `X-Outpost-Signature: sha256=<hex
 * HMAC-SHA256(secret, raw body)>` and `X-Outpost-Event-Id`, within a timeout. A 2xx answer is
 * success; anything else (another status, a refused connection, the timeout) is a failure the
 * caller may retry.
 */
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface WebhookOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
  readonly latencyMs: number;
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export async function sendWebhook(request: { url: string; secret: string; body: string; eventId: string; timeoutMs: number }): Promise<WebhookOutcome> {
  const started = performance.now();
  try {
    const res = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'outpost-alerts/1',
        'x-outpost-signature': signBody(request.secret, request.body),
        'x-outpost-event-id': request.eventId,
      },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    // Read (and drop) the answer so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
    const latencyMs = performance.now() - started;
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, latencyMs };
    return { ok: false, status: res.status, error: `the receiver answered ${res.status}`, latencyMs };
  } catch (err) {
    const latencyMs = performance.now() - started;
    const error = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      error.name === 'TimeoutError' ? `no answer within ${request.timeoutMs} ms` : (error.cause?.code ?? error.cause?.message ?? error.message);
    return { ok: false, error: String(reason).slice(0, 500), latencyMs };
  }
}
