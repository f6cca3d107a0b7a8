/**
 * The web dashboard at fleet scale (issue 14), in Debian's Chromium against the real platform:
 * with N registered devices (default 10,000), the time from navigation to the fleet page's first
 * rows and to the whole list, the frames over 50 ms while scrolling the device table, and a
 * 30-day chart of 1 Hz data (one device) loaded and drawn; then the app's bundle sizes.
 *
 * Devices enroll for real (a pool of keys, CSRs without a CN, one token per key round, so ids are
 * assigned); the 1 Hz history goes in over MQTT as 1,000-sample batches. Neither is measured.
 *
 *   npm run build && node bench/dist/src/dashboard.js [devices=10000] [days=30]
 */
import { generateKeyPair } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import forge from 'node-forge';
import { platformClient, serverParts, startChromium, startPlatform, TEST_ADMIN_PASSWORD } from '@outpost/e2e';
import { printResult, type BenchFigure } from './result-line.js';

const deviceCount = Number(process.argv[2] ?? 10_000);
const days = Number(process.argv[3] ?? 30);
const figures: BenchFigure[] = [];
const keyCount = Math.min(deviceCount, 200);
const generate = promisify(generateKeyPair);

async function csrPool(n: number): Promise<string[]> {
  const file = join(tmpdir(), `outpost-bench-csr-pool-${String(n)}-nocn.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as string[];
  } catch {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const { publicKey, privateKey } = await generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
      csr.setSubject([{ name: 'organizationName', value: 'bench' }]);
      csr.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
      out.push(forge.pki.certificationRequestToPem(csr));
    }
    await writeFile(file, JSON.stringify(out));
    return out;
  }
}

function post(url: string, ca: string, body: unknown): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const csrs = await csrPool(keyCount);
const started = await startPlatform({
  parts: serverParts(),
  logLevel: 'info',
  env: { OUTPOST_ENROLL_RATE_LIMIT: '1000000', OUTPOST_LIMIT_MSGS_PER_S: '10000', OUTPOST_LIMIT_BYTES_PER_S: '1073741824' },
  dirPrefix: 'outpost-bench-dashboard-',
});
const chromium = await startChromium();
try {
  const client = await platformClient(started.operatorUrl, () => started.deviceUrl());
  const deviceUrl = started.deviceUrl();
  if (deviceUrl === undefined) throw new Error('device listener did not start');
  const chain = (await client.api('GET', '/api/v1/ca')).body as { chainPem: string };

  // The fleet: one device enrolled with its own key (it publishes the history), the rest from the pool.
  const publisher = await client.enroll('bench-chart-01');
  const t0 = performance.now();
  const tokens: string[] = [];
  for (let i = 0; i < Math.ceil((deviceCount - 1) / keyCount); i++) {
    const created = await client.api('POST', '/api/v1/enrollment-tokens', { group: i % 2 === 0 ? 'north' : 'south', maxUses: keyCount, ttlSeconds: 3600 });
    tokens.push((created.body as { token: string }).token);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < deviceCount - 1; i = next++) {
        const status = await post(`${deviceUrl}/device/v1/enroll`, chain.chainPem, { v: 1, token: tokens[Math.floor(i / keyCount)], csr: csrs[i % keyCount] });
        if (status !== 201) throw new Error(`enroll ${String(i)}: ${String(status)}`);
      }
    }),
  );
  console.log(`setup: ${String(deviceCount)} devices enrolled in ${((performance.now() - t0) / 1000).toFixed(0)} s (not measured)`);

  // 1 Hz for `days` days, in 1,000-sample batches over MQTT.
  const mqttUrl = started.logs.find((l) => typeof l['mqttUrl'] === 'string')?.['mqttUrl'];
  if (typeof mqttUrl !== 'string') throw new Error('no MQTT listener logged');
  const device = await mqtt.connectAsync(mqttUrl, { key: publisher.keyPem, cert: publisher.certPem, ca: publisher.caPem, protocolVersion: 4, reconnectPeriod: 0, clientId: publisher.deviceId });
  const t1 = performance.now();
  const end = Date.now();
  const start = end - days * 86_400_000 + 3_600_000;
  let seq = 0;
  for (let ts = start; ts < end; ts += 1_000_000) {
    const samples = [];
    for (let t = ts; t < Math.min(end, ts + 1_000_000); t += 1_000) samples.push({ ts: t, metrics: { temperature: 20 + 5 * Math.sin(t / 3_600_000) + Math.random() } });
    seq += 1;
    await device.publishAsync(`devices/${publisher.deviceId}/telemetry`, JSON.stringify({ v: 1, seq, samples }), { qos: 1 });
  }
  // Acknowledged is spooled; wait until the store answers the newest point.
  for (;;) {
    const latest = await client.api('GET', `/api/v1/devices/${publisher.deviceId}/latest`);
    const point = (latest.body as { metrics?: Record<string, { ts: number }> }).metrics?.['temperature'];
    if (point !== undefined && point.ts >= end - 2_000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`setup: ${String(Math.round((end - start) / 1000))} samples (1 Hz, ${String(days)} days) stored in ${((performance.now() - t1) / 1000).toFixed(0)} s (not measured)`);

  // bypassCSP: waitForFunction compiles its predicate in the page, which the app's CSP (script-src 'self') forbids.
  const page = await (await chromium.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
  await page.goto(`${started.operatorUrl}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  // Fleet: a fresh load of the page (the session is in sessionStorage).
  const n0 = performance.now();
  await page.goto(`${started.operatorUrl}/`);
  await page.locator('.vlist [role=row]').first().waitFor();
  const firstRows = performance.now() - n0;
  await page.getByTestId('total').getByText(String(deviceCount)).waitFor({ timeout: 120_000 });
  const totals = performance.now() - n0;
  await page.waitForFunction(`performance.getEntriesByName('fleet:all-rows').length > 0`, undefined, { timeout: 120_000 });
  const allRows = performance.now() - n0;
  console.log(`fleet page, ${String(deviceCount)} devices: first rows drawn ${firstRows.toFixed(0)} ms after navigation (goal ≤ 1000 ms); totals ${totals.toFixed(0)} ms; whole list loaded ${allRows.toFixed(0)} ms (seen from node)`);
  figures.push({ name: `dashboard first rows at ${String(deviceCount)} devices`, value: firstRows, unit: 'ms', better: 'lower', goal: '≤ 1000 ms' });
  figures.push({ name: `dashboard whole list at ${String(deviceCount)} devices`, value: allRows, unit: 'ms', better: 'lower' });
  // Where the time goes, seen from the page: its own marks (ms since navigation) and the API calls.
  const timing = (await page.evaluate(`(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? -1;
    const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/'));
    const scripts = performance.getEntriesByType('resource').filter((e) => e.name.includes('/assets/'));
    return {
      domContentLoaded: nav.domContentLoadedEventEnd,
      scriptsLoaded: Math.max(0, ...scripts.map((e) => e.responseEnd)),
      firstRows: mark('fleet:first-rows'), totals: mark('fleet:totals'), allRows: mark('fleet:all-rows'),
      calls: api.map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search.replace(/cursor=[^&]+/, 'cursor=…'), start: e.startTime, wait: e.responseStart - e.requestStart, download: e.responseEnd - e.responseStart, bytes: e.encodedBodySize, decoded: e.decodedBodySize })),
    };
  })()`)) as { domContentLoaded: number; scriptsLoaded: number; firstRows: number; totals: number; allRows: number; calls: { path: string; start: number; wait: number; download: number; bytes: number; decoded: number }[] };
  console.log(`fleet page marks (ms since navigation): scripts loaded ${timing.scriptsLoaded.toFixed(0)}, DOMContentLoaded ${timing.domContentLoaded.toFixed(0)}, first rows painted ${timing.firstRows.toFixed(0)}, totals ${timing.totals.toFixed(0)}, whole list ${timing.allRows.toFixed(0)}`);
  for (const c of timing.calls) console.log(`  ${c.path.slice(0, 70).padEnd(70)} at ${c.start.toFixed(0).padStart(5)} ms: server ${c.wait.toFixed(0).padStart(4)} ms, download ${c.download.toFixed(0).padStart(4)} ms, ${(c.bytes / 1024).toFixed(1)} KB (${(c.decoded / 1024).toFixed(1)} KB JSON)`);

  // Side by side in the same run: the same page without the summary route (as before it existed),
  // where the totals wait for the whole list.
  await page.route('**/api/v1/fleet/summary', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"code":"NOT_FOUND","message":"bench: no summary"}' }));
  const b0 = performance.now();
  await page.goto(`${started.operatorUrl}/`);
  await page.waitForFunction(`performance.getEntriesByName('fleet:all-rows').length > 0`, undefined, { timeout: 120_000 });
  const without = (await page.evaluate(`(() => {
    const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? -1;
    return { firstRows: mark('fleet:first-rows'), allRows: mark('fleet:all-rows') };
  })()`)) as { firstRows: number; allRows: number };
  console.log(
    `fleet page side by side (page marks, ms since navigation): with /fleet/summary — first rows ${timing.firstRows.toFixed(0)}, totals ${timing.totals.toFixed(0)}; ` +
      `without it — first rows ${without.firstRows.toFixed(0)}, totals only with the whole list ${without.allRows.toFixed(0)} (${(performance.now() - b0).toFixed(0)} ms seen from node)`,
  );
  await page.unroute('**/api/v1/fleet/summary');
  await page.goto(`${started.operatorUrl}/`);
  await page.waitForFunction(`performance.getEntriesByName('fleet:all-rows').length > 0`, undefined, { timeout: 120_000 });

  // Scrolling the table: one step per frame for 3 s, frames timed in the page.
  const frames = (await page.evaluate(`new Promise((resolve) => {
    const list = document.querySelector('.vlist');
    const deltas = [];
    let last = performance.now();
    const startedAt = last;
    const step = (now) => {
      deltas.push(now - last);
      last = now;
      list.scrollTop += 700;
      if (now - startedAt < 3000) requestAnimationFrame(step); else resolve(deltas);
    };
    requestAnimationFrame(step);
  })`)) as number[];
  const slow = frames.filter((d) => d > 50);
  const sorted = [...frames].sort((a, b) => a - b);
  console.log(`fleet table scroll: ${String(frames.length)} frames in 3 s, ${String(slow.length)} over 50 ms (goal: none), median ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1)} ms, longest ${Math.max(...frames).toFixed(1)} ms${slow.length > 0 ? ` (slow frames at index ${frames.flatMap((d, i) => (d > 50 ? [i] : [])).join(', ')})` : ''}`);
  figures.push({ name: 'dashboard scroll frames over 50 ms', value: slow.length, unit: 'frames', better: 'lower', goal: '0' });

  // 30-day chart: pick the range on the device page, time until the chart holds its points.
  await page.goto(`${started.operatorUrl}/devices/${publisher.deviceId}`);
  await page.locator('figure.chart[data-metric="temperature"]').waitFor();
  const c0 = performance.now();
  await page.getByLabel('Time range').selectOption({ label: '30 days' });
  await page.waitForFunction(`Number(document.querySelector('figure.chart[data-metric="temperature"]')?.dataset.points) > 0 && document.querySelector('figure.chart[data-metric="temperature"] canvas') !== null`, undefined, { timeout: 60_000 });
  const chart = performance.now() - c0;
  const points = await page.locator('figure.chart[data-metric="temperature"]').getAttribute('data-points');
  console.log(`30-day chart of 1 Hz data: ${points ?? '?'} points (mean, min, max per bucket) loaded and drawn in ${chart.toFixed(0)} ms (goal ≤ 500 ms)`);
  figures.push({ name: `dashboard ${String(days)}-day chart of 1 Hz data`, value: chart, unit: 'ms', better: 'lower', goal: '≤ 500 ms' });

  await device.endAsync(true);
} finally {
  await chromium.close();
  await started.close();
}

const assets = fileURLToPath(new URL('../../../dashboard/dist/web/assets/', import.meta.url));
let total = 0;
for (const name of (await readdir(assets)).filter((n) => n.endsWith('.js')).sort()) {
  const gz = gzipSync(await readFile(join(assets, name)), { level: 9 }).length;
  total += gz;
  console.log(`bundle: ${name} ${(gz / 1024).toFixed(1)} KB gzip`);
}
console.log(`bundle: ${(total / 1024).toFixed(1)} KB gzip of JavaScript in all (budget 100 KB)`);
figures.push({ name: 'dashboard JavaScript bundle (gzip)', value: total / 1024, unit: 'KB', better: 'lower', goal: '≤ 100 KB' });
printResult({ bench: 'dashboard', figures });
