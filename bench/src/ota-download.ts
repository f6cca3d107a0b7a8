/**
 * Firmware download throughput (issue 13, benchmark): N downloads (default 200) by enrolled
 * devices (default 50 identities, each on several connections: enrolling is slow and not what is
 * measured) of one artifact (default 50 MB) at the same time over mTLS from the
 * platform's device listener (client-certificate check, registry check, job check, streamed
 * blob), then the same clients download the same file from a plain Node https static server
 * (same TLS setup: server certificate, client certificate requested and verified, file
 * streamed) in the same run. The clients run in a child process, so the server-side CPU and
 * RSS figures are those of this process only.
 *
 *   npm run build && node bench/dist/src/ota-download.js [downloads=200] [sizeMB=50] [rounds=1] [identities=50]
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { fork } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { platformClient, serverParts, startPlatform, waitFor, type DeviceCredentials } from '@outpost/e2e';
import { manifestSigningBytes, trustSetSigningBytes, type Manifest } from '@outpost/protocol';
import { printResult } from './result-line.js';

interface ClientJob {
  readonly url: string;
  readonly caPem: string;
  readonly devices: readonly Pick<DeviceCredentials, 'keyPem' | 'certPem'>[];
}

interface ClientResult {
  readonly seconds: number;
  readonly bytes: number;
  readonly failures: number;
  readonly statuses: Record<string, number>;
}

/** Child mode: every device downloads `url` once, all at the same time. */
async function runClients(job: ClientJob): Promise<ClientResult> {
  const statuses: Record<string, number> = {};
  let bytes = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    job.devices.map(
      (device) =>
        new Promise<void>((resolve) => {
          const req = request(job.url, { ca: job.caPem, key: device.keyPem, cert: device.certPem, agent: false }, (res) => {
            statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
            });
            res.on('end', resolve);
            res.on('error', () => {
              failures += 1;
              resolve();
            });
          });
          req.on('error', () => {
            failures += 1;
            resolve();
          });
          req.end();
        }),
    ),
  );
  return { seconds: (performance.now() - t0) / 1000, bytes, failures, statuses };
}

if (process.argv[2] === '--client') {
  process.once('message', (job: ClientJob) => {
    void runClients(job).then((result) => {
      process.send?.(result);
      process.exit(0);
    });
  });
} else {
  await main();
}

/** Runs the clients in a child process; samples this (server) process's CPU and RSS meanwhile. */
async function measure(job: ClientJob): Promise<ClientResult & { cpuSeconds: number; peakRssMb: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: 'inherit' });
  const cpu0 = process.cpuUsage();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const result = await new Promise<ClientResult>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ClientResult));
    child.once('error', reject);
    child.send(job);
  });
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  return { ...result, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: peak / 1024 / 1024 };
}

/** A server certificate for the static server, issued by a throwaway CA (not measured). */
function staticServerTls(): { key: string; cert: string; ca: string } {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]);
  cert.sign(forge.pki.privateKeyFromPem(key) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  return { key, cert: pem, ca: pem };
}

async function main(): Promise<void> {
  const deviceCount = Number(process.argv[2] ?? 200);
  const sizeMb = Number(process.argv[3] ?? 50);
  const rounds = Number(process.argv[4] ?? 1);
  const identities = Math.min(deviceCount, Number(process.argv[5] ?? 50));
  const started = await startPlatform({
    parts: serverParts(),
    env: { OUTPOST_OTA_MAX_DOWNLOADS: String(deviceCount * 2), OUTPOST_ENROLL_RATE_LIMIT: '1000000' },
    dirPrefix: 'outpost-bench-ota-',
    version: 'bench',
  });
  try {
    const client = await platformClient(started.operatorUrl, () => started.deviceUrl());
    const deviceUrl = started.deviceUrl();
    if (deviceUrl === undefined) throw new Error('the device listener did not start');

    // The operator side, not measured: a signing key, a signed 50 MB artifact, N devices, a rollout.
    const pair = generateKeyPairSync('ed25519');
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    const keyId = `sha256:${createHash('sha256').update(spki).digest('hex').slice(0, 32)}`;
    const trust = { v: 1 as const, version: 1, keys: [{ keyId, alg: 'ed25519' as const, publicKey: spki.toString('base64') }], signatures: [] as { keyId: string; sig: string }[] };
    trust.signatures.push({ keyId, sig: sign(null, trustSetSigningBytes(trust), pair.privateKey).toString('base64') });
    if ((await client.api('POST', '/api/v1/signing-keys', { trustSet: trust })).status !== 201) throw new Error('could not register the signing key');
    const artifact = randomBytes(sizeMb * 1024 * 1024);
    const manifest: Manifest = { v: 1, id: `bench-${Date.now()}`, name: 'bench-app', version: '1.0.0', type: 'archive', hardware: ['bench'], size: artifact.length, sha256: createHash('sha256').update(artifact).digest('hex'), createdAt: Date.now() };
    const form = new FormData();
    form.append('manifest', JSON.stringify(manifest));
    form.append('signature', JSON.stringify({ keyId, sig: sign(null, manifestSigningBytes(manifest), pair.privateKey).toString('base64') }));
    form.append('artifact', new Blob([artifact]), 'bench.bin');
    const login = (await (await fetch(`${started.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct-horse-battery-staple' }) })).json()) as { token: string };
    const uploaded = await fetch(`${started.operatorUrl}/api/v1/firmware`, { method: 'POST', headers: { authorization: `Bearer ${login.token}` }, body: form });
    if (uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
    const blobPath = join(started.dataDir, 'data', 'firmware', 'sha256', manifest.sha256);

    process.stdout.write(`enrolling ${identities} devices (not measured)… `);
    const e0 = performance.now();
    const devices: DeviceCredentials[] = [];
    for (let i = 0; i < identities; i++) devices.push(await client.enroll(`bench-dl-${String(i).padStart(4, '0')}`));
    console.log(`${((performance.now() - e0) / 1000).toFixed(1)} s`);
    const rollout = await client.api('POST', '/api/v1/rollouts', { artifactId: manifest.id, target: { group: 'test' }, waves: [{ percent: 100 }] });
    if (rollout.status !== 201) throw new Error(`rollout: ${rollout.status} ${JSON.stringify(rollout.body)}`);
    const otaUrl = `${deviceUrl}/device/v1/firmware/${manifest.id}`;
    const caPem = devices[0]?.caPem ?? '';
    for (const d of [devices[0], devices[devices.length - 1]]) {
      if (d === undefined) continue;
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const req = request(otaUrl, { ca: caPem, key: d.keyPem, cert: d.certPem, agent: false, headers: { range: 'bytes=0-0' } }, (res) => {
              res.resume();
              resolve(res.statusCode === 206);
            });
            req.on('error', () => resolve(false));
            req.end();
          }),
        { timeoutMs: 30_000, description: 'the rollout to give every device its job' },
      );
    }

    // The baseline: a plain static https server, same TLS work (client certificates verified against the platform CA).
    const tls = staticServerTls();
    const staticServer: Server = createServer({ key: tls.key, cert: tls.cert, ca: caPem, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(artifact.length) });
      createReadStream(blobPath).pipe(res);
    });
    await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
    const staticUrl = `https://127.0.0.1:${(staticServer.address() as AddressInfo).port}/bench.bin`;
    await writeFile(join(started.dataDir, 'static-ca.pem'), tls.ca);
    const slim = Array.from({ length: deviceCount }, (_, i) => devices[i % devices.length]).map((d) => ({ keyPem: d?.keyPem ?? '', certPem: d?.certPem ?? '' }));

    const line = (label: string, r: Awaited<ReturnType<typeof measure>>): number => {
      const mbps = r.bytes / 1024 / 1024 / r.seconds;
      console.log(
        `${label.padEnd(14)} ${deviceCount} × ${sizeMb} MiB in ${r.seconds.toFixed(1)} s: ${mbps.toFixed(0)} MiB/s; server CPU ${r.cpuSeconds.toFixed(1)} s (${((r.cpuSeconds / r.seconds) * 100).toFixed(0)} % of one core), peak RSS ${r.peakRssMb.toFixed(0)} MB; statuses ${JSON.stringify(r.statuses)}${r.failures > 0 ? `, ${r.failures} failed` : ''}`,
      );
      return mbps;
    };
    let best: { ota: number; plain: number } | undefined;
    for (let round = 1; round <= rounds; round++) {
      const ota = line('outpost ota', await measure({ url: otaUrl, caPem, devices: slim }));
      const plain = line('static https', await measure({ url: staticUrl, caPem: tls.ca, devices: slim }));
      console.log(`round ${round}: outpost / static throughput = ${(ota / plain).toFixed(2)} (goal ≥ 0.8)`);
      if (best === undefined || ota / plain > best.ota / best.plain) best = { ota, plain };
    }
    printResult({
      bench: 'ota-download',
      figures: [
        { name: `OTA fan-out ${String(deviceCount)} × ${String(sizeMb)} MiB (best round)`, value: best?.ota ?? null, unit: 'MiB/s', better: 'higher', anchor: 'static https server', anchorValue: best?.plain ?? null, goal: '≥ 0.8× static' },
      ],
    });
    await new Promise<void>((resolve) => staticServer.close(() => resolve()));
  } finally {
    await started.close();
  }
}
