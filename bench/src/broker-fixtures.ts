/**
 * The two brokers of the broker benchmark, each a child process so its CPU and RSS are its
 * own (read from /proc): `outpost server` (registry + broker parts, mTLS, ACL, validation,
 * spool) on a cached data dir, and Debian's mosquitto with a generated config (mTLS with the
 * same platform CA, identity as username, an ACL file with the same per-device topics).
 *
 * Device certificates are enrolled once through the platform and cached with its data dir
 * and secret key (`$TMPDIR/outpost-bench-broker/`), so later runs reuse them: issuing 5,000
 * certificates is not what the benchmark measures.
 */
import { generateKeyPair } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findFreePorts, spawnService, startServerProcess, type SpawnedService } from '@outpost/e2e';
import forge from 'node-forge';

const MOSQUITTO = '/usr/sbin/mosquitto';
const PASSWORD = 'bench-password-123';
const generate = promisify(generateKeyPair);
const CLOCK_TICKS_PER_S = 100;

/** Where the platform's data dir, secret key and enrolled certificates are kept between runs (default). */
export const CACHE_DIR = join(tmpdir(), 'outpost-bench-broker');

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly keyPem: string;
  readonly certPem: string;
}

/** A broker under test, as the scenarios see it. */
export interface BrokerUnderTest {
  readonly name: string;
  readonly url: string;
  /** What clients trust for the server certificate. */
  readonly serverCaPem: string;
  readonly pid: number;
  /** Broker-side count of accepted telemetry batches so far (Outpost: durable in the spool); undefined when the broker has none. */
  accepted(): Promise<number | undefined>;
  /** Accepted messages the broker has not processed yet (Outpost: spool records ingest or alerts have not committed); absent when a broker keeps no backlog. */
  backlog?(): Promise<number>;
  stop(): Promise<void>;
}

/** utime + stime of a process so far, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** Resident set size of a process, in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${String(pid)}`);
  return Number(kb) * 1024;
}

function tcpOpen(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}

// ---------------------------------------------------------------- Outpost

export interface OutpostProcess extends BrokerUnderTest {
  readonly operatorUrl: string;
  readonly deviceUrl: string;
  readonly cacheDir: string;
  /** A session token of the admin. */
  readonly adminToken: string;
  /** The platform CA chain (what the brokers trust for client certificates). */
  readonly chainPem: string;
  /** Sum of a Prometheus series from /metrics (all label sets matching `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface OutpostOptions {
  /** The cache dir (data dir, secret key, certificates); default CACHE_DIR. */
  readonly cacheDir?: string;
  /** Extra environment (limits, log level). */
  readonly env?: Record<string, string>;
  readonly startTimeoutMs?: number;
}

/** Node flags for the brokers run by Node (Outpost, bare aedes), e.g. OUTPOST_BENCH_SERVER_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where their CPU goes. */
function serverNodeFlags(): string[] {
  return (process.env['OUTPOST_BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');
}

/** `outpost server` on the cached data dir, on free loopback ports; the spool starts empty. */
export async function startOutpost(options: OutpostOptions = {}): Promise<OutpostProcess> {
  const cacheDir = options.cacheDir ?? CACHE_DIR;
  await mkdir(cacheDir, { recursive: true });
  // The spool is not state worth keeping between runs (nothing ingests it in the bench).
  await rm(join(cacheDir, 'data', 'spool'), { recursive: true, force: true });
  const [httpPort, devicePort, mqttPort] = await findFreePorts(3);
  if (httpPort === undefined || devicePort === undefined || mqttPort === undefined) throw new Error('no free ports');
  const nodeFlags = serverNodeFlags();
  const operatorUrl = `http://127.0.0.1:${String(httpPort)}`;
  const server = await startServerProcess(
    cacheDir,
    {
      OUTPOST_DATA_DIR: join(cacheDir, 'data'),
      OUTPOST_SECRET_KEY_FILE: join(cacheDir, 'secret.key'),
      OUTPOST_HTTP_PORT: String(httpPort),
      OUTPOST_DEVICE_PORT: String(devicePort),
      OUTPOST_MQTT_PORT: String(mqttPort),
      OUTPOST_SERVER_NAMES: 'localhost,127.0.0.1',
      OUTPOST_ADMIN_PASSWORD: PASSWORD,
      // One bench process stands for a whole fleet: no per-address cap on pending TLS handshakes.
      OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP: '1000000',
      OUTPOST_MQTT_MAX_HANDSHAKES: '1000000',
      ...options.env,
    },
    {
      timeoutMs: options.startTimeoutMs ?? 60_000,
      nodeFlags,
      urls: { operatorUrl, deviceUrl: `https://127.0.0.1:${String(devicePort)}`, mqttUrl: `mqtts://127.0.0.1:${String(mqttPort)}` },
    },
  );
  // One login per run (the platform limits logins per minute).
  const adminToken = await login(operatorUrl);
  const chainPem = ((await (await fetch(`${operatorUrl}/api/v1/ca`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { chainPem: string }).chainPem;
  const metrics = async (): Promise<string> => (await fetch(`${operatorUrl}/metrics`)).text();
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    let sum = 0;
    for (const line of (await metrics()).split('\n')) {
      if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  };
  const pid = server.child.pid;
  if (pid === undefined) throw new Error('outpost server has no pid');
  return {
    name: 'Outpost',
    url: `mqtts://127.0.0.1:${String(mqttPort)}`,
    operatorUrl,
    deviceUrl: `https://127.0.0.1:${String(devicePort)}`,
    cacheDir,
    adminToken,
    chainPem,
    serverCaPem: chainPem,
    pid,
    metric,
    accepted: () => metric('outpost_ingest_spool_last_seq'),
    backlog: () => metric('outpost_ingest_spool_depth_records'),
    stop: server.stop,
  };
}

async function login(operatorUrl: string): Promise<string> {
  const res = await fetch(`${operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  return ((await res.json()) as { token: string }).token;
}

async function api(outpost: OutpostProcess, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${outpost.operatorUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${String(res.status)} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Device ids of the bench: `bench-00000` …; `bench-sub` is the mosquitto subscriber. */
export function benchDeviceId(i: number): string {
  return `bench-${String(i).padStart(5, '0')}`;
}
export const SUBSCRIBER_ID = 'bench-sub';

/** Keys are reused across devices (one per enrollment token), so a few hundred suffice. */
const KEY_POOL = 200;

/**
 * The first `count` bench devices plus the subscriber, enrolled into the cached platform
 * (only those missing from the cache are enrolled; not measured).
 */
export async function benchDevices(outpost: OutpostProcess, count: number, log: (line: string) => void): Promise<{ devices: DeviceIdentity[]; subscriber: DeviceIdentity }> {
  const file = join(outpost.cacheDir, 'devices.json');
  const cached = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as Record<string, DeviceIdentity>)
    .catch(() => ({}) as Record<string, DeviceIdentity>);
  const wanted = [SUBSCRIBER_ID, ...Array.from({ length: count }, (_, i) => benchDeviceId(i))];
  const missing = wanted.filter((id) => cached[id] === undefined);
  if (missing.length > 0) {
    const started = performance.now();
    log(`enrolling ${String(missing.length)} bench devices into the cached platform (once; not measured) … `);
    const keys = await keyPool(outpost.cacheDir, Math.min(KEY_POOL, missing.length));
    let next = 0;
    const tokens: string[] = [];
    for (let t = 0; t < Math.ceil(missing.length / keys.length); t += 1) {
      tokens.push(((await api(outpost, outpost.adminToken, 'POST', '/api/v1/enrollment-tokens', { group: 'bench', maxUses: keys.length, ttlSeconds: 3600 })) as { token: string }).token);
    }
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < missing.length; i = next++) {
          const deviceId = missing[i] as string;
          const key = keys[i % keys.length];
          if (key === undefined) throw new Error('no key');
          // A key enrolls once per token: device i uses key i mod pool under token i div pool.
          const token = tokens[Math.floor(i / keys.length)];
          const csr = forge.pki.createCertificationRequest();
          csr.publicKey = forge.pki.publicKeyFromPem(key.publicKey);
          csr.setSubject([{ name: 'commonName', value: deviceId }]);
          csr.sign(forge.pki.privateKeyFromPem(key.privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
          const body = { v: 1, token, csr: forge.pki.certificationRequestToPem(csr), deviceId };
          // A retry of the same token and key answers the same device (the registry replays it).
          const answer = await enroll(outpost, body).catch(async (err: unknown) => {
            // Enrolled by an earlier run that died before saving the cache: decommission, enroll again.
            if (String(err).includes('DEVICE_ID_CONFLICT')) await api(outpost, outpost.adminToken, 'DELETE', `/api/v1/devices/${deviceId}`);
            return enroll(outpost, body).catch(() => enroll(outpost, body));
          });
          cached[deviceId] = { deviceId, keyPem: key.privateKey, certPem: answer.certificate };
          if (i % 500 === 499) await writeFile(file, JSON.stringify(cached));
        }
      }),
    );
    await writeFile(file, JSON.stringify(cached));
    log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const pick = (id: string): DeviceIdentity => {
    const found = cached[id];
    if (found === undefined) throw new Error(`device ${id} missing from the cache`);
    return found;
  };
  return { devices: wanted.slice(1).map(pick), subscriber: pick(SUBSCRIBER_ID) };
}

/** `count` RSA key pairs, cached in the cache dir (generating them is slow and not measured). */
async function keyPool(cacheDir: string, count: number): Promise<{ publicKey: string; privateKey: string }[]> {
  const file = join(cacheDir, 'keys.json');
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { publicKey: string; privateKey: string }[], () => []);
  if (cached.length >= count) return cached.slice(0, count);
  const made = await Promise.all(
    Array.from({ length: count - cached.length }, () =>
      generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }),
    ),
  );
  const keys = [...cached, ...made];
  await writeFile(file, JSON.stringify(keys));
  return keys;
}

function enroll(outpost: OutpostProcess, body: unknown): Promise<{ certificate: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${outpost.deviceUrl}/device/v1/enroll`, { method: 'POST', ca: outpost.chainPem, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? resolve(JSON.parse(text) as { certificate: string }) : reject(new Error(`enroll: ${String(res.statusCode)} ${text}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

// ---------------------------------------------------------------- mosquitto

/** A server certificate for mosquitto (RSA 2048 like the platform's) from a bench CA, cached. */
async function mosquittoServerCredentials(cacheDir: string): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const file = join(cacheDir, 'mosquitto-server.json');
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { caPem: string; certPem: string; keyPem: string }, () => undefined);
  if (cached !== undefined) return cached;
  const rsa = async (): Promise<forge.pki.rsa.KeyPair> => {
    const pair = await generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    return { publicKey: forge.pki.publicKeyFromPem(pair.publicKey) as forge.pki.rsa.PublicKey, privateKey: forge.pki.privateKeyFromPem(pair.privateKey) as forge.pki.rsa.PrivateKey };
  };
  const caKeys = await rsa();
  const serverKeys = await rsa();
  const now = Date.now();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = '01';
  ca.validity.notBefore = new Date(now - 3_600_000);
  ca.validity.notAfter = new Date(now + 5 * 365 * 86_400_000);
  ca.setSubject([{ name: 'commonName', value: 'Outpost bench mosquitto CA' }]);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const server = forge.pki.createCertificate();
  server.publicKey = serverKeys.publicKey;
  server.serialNumber = '02';
  server.validity.notBefore = ca.validity.notBefore;
  server.validity.notAfter = ca.validity.notAfter;
  server.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  server.setIssuer(ca.subject.attributes);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());
  const credentials = { caPem: forge.pki.certificateToPem(ca), certPem: forge.pki.certificateToPem(server), keyPem: forge.pki.privateKeyToPem(serverKeys.privateKey) };
  await writeFile(file, JSON.stringify(credentials));
  return credentials;
}

export interface MosquittoOptions {
  /** Where its server certificate is cached; default CACHE_DIR. */
  readonly cacheDir?: string;
  /** The platform CA chain: client certificates must chain to it. */
  readonly clientCaPem: string;
  /** `persistence true` (a snapshot file in its temp dir) instead of false. */
  readonly persistence: boolean;
}

/**
 * mosquitto on a free loopback port: mTLS with the platform CA, `use_identity_as_username`,
 * an ACL with the devices' own topics (`pattern … devices/%u/…`) and read access for the
 * subscriber; connection logging off, as Outpost runs at `warn`.
 */
export async function startMosquitto(options: MosquittoOptions): Promise<BrokerUnderTest> {
  const server = await mosquittoServerCredentials(options.cacheDir ?? CACHE_DIR);
  const handle: SpawnedService<true> = await spawnService<true>({
    name: 'mosquitto',
    executable: MOSQUITTO,
    installHint: 'run scripts/install-test-deps.sh (Debian package mosquitto)',
    tempDirPrefix: 'outpost-bench-mosquitto-',
    portCount: 1,
    startTimeoutMs: 20_000,
    stopTimeoutMs: 10_000,
    portConflict: /Address already in use/,
    async configure(ctx) {
      const file = (name: string): string => join(ctx.dir, name);
      // mosquitto started as root drops to the user `mosquitto`, which must read these files.
      await chmod(ctx.dir, 0o755);
      await writeFile(file('clients-ca.pem'), options.clientCaPem);
      await writeFile(file('server.pem'), server.certPem);
      await writeFile(file('server.key'), server.keyPem);
      await writeFile(
        file('acl'),
        [
          `user ${SUBSCRIBER_ID}`,
          'topic read devices/+/telemetry',
          '',
          'pattern write devices/%u/telemetry',
          'pattern write devices/%u/status',
          'pattern write devices/%u/config/reported',
          'pattern write devices/%u/commands/result',
          'pattern read devices/%u/config/desired',
          'pattern read devices/%u/commands',
          'pattern read devices/%u/errors',
          '',
        ].join('\n'),
      );
      await writeFile(
        file('mosquitto.conf'),
        [
          `listener ${String(ctx.ports[0])} 127.0.0.1`,
          `cafile ${file('clients-ca.pem')}`,
          `certfile ${file('server.pem')}`,
          `keyfile ${file('server.key')}`,
          'require_certificate true',
          'use_identity_as_username true',
          `acl_file ${file('acl')}`,
          // mosquitto's persistence is a periodic snapshot of its in-memory state (autosave_interval,
          // default 30 min), not a write before PUBACK: it costs little here.
          options.persistence ? `persistence true\npersistence_location ${ctx.dir}/` : 'persistence false',
          // The subscriber must not lose QoS 1 messages to the default queue bound of 1,000.
          'max_queued_messages 1000000',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'connection_messages false',
          '',
        ].join('\n'),
      );
      return ['-c', file('mosquitto.conf')];
    },
    probe: (ctx) => tcpOpen(ctx.ports[0] ?? 0),
  });
  const pid = handle.pid;
  if (pid === undefined) throw new Error('mosquitto has no pid');
  return {
    name: options.persistence ? 'mosquitto (persistence)' : 'mosquitto',
    url: `mqtts://127.0.0.1:${String(handle.ports[0])}`,
    serverCaPem: server.caPem,
    pid,
    accepted: async () => undefined,
    stop: () => handle.stop(),
  };
}

export interface BareAedesOptions {
  /** Where its server certificate is cached; default CACHE_DIR. */
  readonly cacheDir?: string;
  /** The platform CA chain: client certificates must chain to it. */
  readonly clientCaPem: string;
}

/**
 * The floor of Outpost's broker stack (bare-aedes.ts): aedes over `node:tls` with client
 * certificates required and nothing else, its own process on a free loopback port, the same
 * Node flags as Outpost's server in this run.
 */
export async function startBareAedes(options: BareAedesOptions): Promise<BrokerUnderTest> {
  const server = await mosquittoServerCredentials(options.cacheDir ?? CACHE_DIR);
  const script = fileURLToPath(new URL('./bare-aedes.js', import.meta.url));
  const handle: SpawnedService<true> = await spawnService<true>({
    name: 'bare aedes',
    executable: process.execPath,
    installHint: 'the Node.js running this bench',
    tempDirPrefix: 'outpost-bench-aedes-',
    portCount: 1,
    startTimeoutMs: 20_000,
    stopTimeoutMs: 10_000,
    portConflict: /EADDRINUSE/,
    async configure(ctx) {
      await writeFile(join(ctx.dir, 'clients-ca.pem'), options.clientCaPem);
      await writeFile(join(ctx.dir, 'server.pem'), server.certPem);
      await writeFile(join(ctx.dir, 'server.key'), server.keyPem);
      return [...serverNodeFlags(), script, String(ctx.ports[0]), ctx.dir];
    },
    probe: (ctx) => tcpOpen(ctx.ports[0] ?? 0),
  });
  const pid = handle.pid;
  if (pid === undefined) throw new Error('bare aedes has no pid');
  return {
    name: 'bare aedes',
    url: `mqtts://127.0.0.1:${String(handle.ports[0])}`,
    serverCaPem: server.caPem,
    pid,
    accepted: async () => undefined,
    stop: () => handle.stop(),
  };
}
