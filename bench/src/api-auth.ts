/**
 * Operator API throughput with each kind of bearer token, side by side in one run:
 * an unauthenticated route (baseline), a login session, an API token, and a
 * mutating call that also writes an audit entry.
 *
 *   npm run build && node bench/dist/src/api-auth.js [seconds=5] [concurrency=16]
 */
import { startPlatform } from '@outpost/e2e';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 16);

async function measure(name: string, run: () => Promise<Response>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const started = performance.now();
        const res = await run();
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        if (res.ok) ok += 1;
        else failed += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const p = (q: number): string => (latencies[Math.floor(q * (latencies.length - 1))] ?? 0).toFixed(2);
  console.log(`${name.padEnd(34)} ${(ok / seconds).toFixed(0).padStart(7)} req/s   p50 ${p(0.5)} ms   p99 ${p(0.99)} ms   errors ${failed}`);
}

const bench = await startPlatform({
  adminPassword: 'bench-password-123',
  env: { OUTPOST_LOGIN_RATE_LIMIT: '100000' },
  secretKey: Buffer.alloc(32, 1),
  version: 'bench',
  dirPrefix: 'outpost-bench-',
});
const url = bench.operatorUrl;
const json = { 'content-type': 'application/json' };
const login = (await (await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'admin', password: 'bench-password-123' }) })).json()) as { token: string };
const apiToken = (await (await fetch(`${url}/api/v1/api-tokens`, { method: 'POST', headers: { ...json, authorization: `Bearer ${login.token}` }, body: JSON.stringify({ name: 'bench' }) })).json()) as { token: string };

console.log(`Outpost operator API, ${seconds} s per row, ${concurrency} concurrent clients, node ${process.version}`);
await measure('GET /healthz (no auth)', () => fetch(`${url}/healthz`));
await measure('GET /api/v1/auth/me (session)', () => fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${login.token}` } }));
await measure('GET /api/v1/auth/me (API token)', () => fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${apiToken.token}` } }));
await measure('POST /api/v1/auth/stream-token (audited)', () => fetch(`${url}/api/v1/auth/stream-token`, { method: 'POST', headers: { authorization: `Bearer ${login.token}` } }));
await measure('POST /api/v1/auth/login (scrypt)', () => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'admin', password: 'bench-password-123' }) }));

await bench.close();
