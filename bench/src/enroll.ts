/**
 * Enrollments per second end to end: HTTPS to the device listener, token check,
 * CSR parse and verify, certificate signing, storage, audit. Device keys and CSRs
 * come from a pool generated BEFORE the clock starts (key generation is what a
 * device does, not the platform), so they are not part of the figure.
 *
 * With `keys` smaller than `devices`, each key is enrolled once per token across
 * ceil(devices / keys) tokens (a device id is assigned, as the CSRs carry no CN), so
 * 10,000 enrollments need only a few hundred pre-generated keys.
 *
 *   npm run build && node bench/dist/src/enroll.js [devices=400] [concurrency=16] [keys=devices]
 */
import { generateKeyPair } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform } from '@outpost/e2e';
import { printResult } from './result-line.js';

const devices = Number(process.argv[2] ?? 400);
const concurrency = Number(process.argv[3] ?? 16);
const keyCount = Math.min(devices, Number(process.argv[4] ?? devices));
const named = keyCount === devices;
const generate = promisify(generateKeyPair);

async function csrPool(n: number, withCn: boolean): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { publicKey, privateKey } = await generate('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
    csr.setSubject(withCn ? [{ name: 'commonName', value: `bench-${String(i).padStart(6, '0')}` }] : [{ name: 'organizationName', value: 'bench' }]);
    csr.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    out.push(forge.pki.certificationRequestToPem(csr));
  }
  return out;
}

function post(url: string, ca: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

// The pool is cached in the temp dir: generating RSA keys is slow and not what is measured.
const poolFile = join(tmpdir(), `outpost-bench-csr-pool-${keyCount}${named ? '' : '-nocn'}.json`);
const csrs = await readFile(poolFile, 'utf8')
  .then((text) => JSON.parse(text) as string[])
  .catch(async () => {
    process.stdout.write(`generating ${keyCount} device keys and CSRs (not measured, cached in ${poolFile})… `);
    const poolStarted = performance.now();
    const pool = await csrPool(keyCount, named);
    console.log(`${((performance.now() - poolStarted) / 1000).toFixed(1)} s`);
    await writeFile(poolFile, JSON.stringify(pool));
    return pool;
  });

const started = await startPlatform({
  parts: [createRegistryPart()],
  // Every client is 127.0.0.1 here: lift the per-IP limit, as for a factory line.
  env: { OUTPOST_ENROLL_RATE_LIMIT: '1000000' },
  adminPassword: 'bench-password-123',
  secretKey: Buffer.alloc(32, 3),
  version: 'bench',
  dirPrefix: 'outpost-bench-enroll-',
});
const deviceUrl = started.deviceUrl();
if (deviceUrl === undefined) throw new Error('device listener did not start');
const json = { 'content-type': 'application/json' };
const api = async (method: string, path: string, token?: string, body?: unknown): Promise<unknown> => {
  const res = await fetch(`${started.operatorUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : json), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
};
const { token: session } = (await api('POST', '/api/v1/auth/login', undefined, { username: 'admin', password: 'bench-password-123' })) as { token: string };
const { chainPem } = (await api('GET', '/api/v1/ca', session)) as { chainPem: string };
const tokens: string[] = [];
for (let i = 0; i < Math.ceil(devices / keyCount); i++) {
  const created = (await api('POST', '/api/v1/enrollment-tokens', session, { group: 'bench', maxUses: keyCount, ttlSeconds: 3600 })) as { token: string };
  tokens.push(created.token);
}

let next = 0;
const statuses = new Map<number, number>();
const latencies: number[] = [];
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < devices; i = next++) {
      const s = performance.now();
      const status = await post(`${deviceUrl}/device/v1/enroll`, chainPem, { v: 1, token: tokens[Math.floor(i / keyCount)], csr: csrs[i % keyCount] });
      latencies.push(performance.now() - s);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number): string => (latencies[Math.floor(p * (latencies.length - 1))] ?? 0).toFixed(0);
const enrolled = statuses.get(201) ?? 0;
if (enrolled !== devices) console.log(`warning: only ${enrolled} of ${devices} enrollments answered 201`);
const rate = enrolled / seconds;
console.log(`enrolled ${devices} devices with ${concurrency} concurrent HTTPS clients in ${seconds.toFixed(1)} s: ${rate.toFixed(1)} enrollments/s, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
console.log(`statuses: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`);
console.log(`10,000 devices at this rate: ${(10_000 / rate).toFixed(0)} s (goal ≤ 300 s)`);
printResult({
  bench: 'enroll',
  figures: [
    { name: 'enrollments (HTTPS, CSR signed, stored)', value: rate, unit: '/s', better: 'higher', goal: '≥ 33.3/s (10,000 in ≤ 300 s)' },
    { name: 'enrollment p99', value: latencies[Math.floor(0.99 * (latencies.length - 1))] ?? null, unit: 'ms', better: 'lower' },
  ],
});
await started.close();
