/**
 * `outpost server` as a child process for benchmarks (so its CPU is its own), on ephemeral
 * loopback ports in a temp dir, plus the HTTP calls a bench needs: admin login and device
 * enrollment with a fresh RSA key and a node-forge CSR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import forge from 'node-forge';
import { waitFor } from './wait-for.js';

/** The `outpost` CLI of the installed @outpost/platform (works from src and from dist). */
const BIN = join(dirname(createRequire(import.meta.url).resolve('@outpost/platform')), 'cli', 'main.js');
export const BENCH_PASSWORD = 'bench-password-123';

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly operatorUrl: string;
  readonly deviceUrl: string;
  readonly mqttUrl: string;
  /** The exit code once the process has exited (null: killed by a signal). */
  readonly exited: Promise<number | null>;
  /** utime + stime of the server process so far, in seconds (from /proc). */
  cpuSeconds(): Promise<number>;
  /** Everything the process wrote to stdout and stderr so far (the first MB). */
  output(): string;
  /** What the process wrote to stdout alone (the first MB): the terminal's lines. */
  stdout(): string;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** How long the server may take to log its URLs (default 60 s). */
  readonly timeoutMs?: number;
  /** Node flags before the CLI, e.g. `--cpu-prof` to see where the server's CPU goes. */
  readonly nodeFlags?: readonly string[];
  /**
   * What node runs instead of the CLI's `server` command: a script (and its arguments) that
   * composes a platform of its own and logs or prints the same `{"operatorUrl",…}` line.
   */
  readonly entry?: readonly string[];
  /** Arguments after `outpost server`, e.g. `['--log-format', 'pretty']` or `['--config', file]`. */
  readonly args?: readonly string[];
  /**
   * For a server on fixed ports (set in `env`) whose log level hides the info line with its URLs:
   * those URLs, and readiness is GET /readyz answering 200 instead of that line.
   */
  readonly urls?: { readonly operatorUrl: string; readonly deviceUrl: string; readonly mqttUrl: string };
}

/** The environment every test server starts with (loopback, ephemeral ports); `env` overrides it. */
function serverEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    OUTPOST_HTTP_HOST: '127.0.0.1',
    OUTPOST_HTTP_PORT: '0',
    OUTPOST_DEVICE_HOST: '127.0.0.1',
    OUTPOST_DEVICE_PORT: '0',
    OUTPOST_MQTT_HOST: '127.0.0.1',
    OUTPOST_MQTT_PORT: '0',
    OUTPOST_PUBLIC_HOST: '127.0.0.1',
    OUTPOST_ADMIN_PASSWORD: BENCH_PASSWORD,
    OUTPOST_ENROLL_RATE_LIMIT: '1000000',
    OUTPOST_LOG_LEVEL: 'info',
    ...env,
  };
}

/** `outpost server` in `dir`, its output kept (the first MB); resolves once it has exited. */
function spawnServer(dir: string, env: Record<string, string>, nodeFlags: readonly string[] = [], entry: readonly string[] = [BIN, 'server']): { child: ChildProcess; output: () => string; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...nodeFlags, ...entry], { cwd: dir, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (b: Buffer): void => {
    if (output.length < 1_000_000) output += b.toString();
  };
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    collect(b);
    if (stdout.length < 1_000_000) stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    collect(b);
    if (stderr.length < 1_000_000) stderr += b.toString();
  });
  // 'close' comes after the output streams ended: nothing written before the exit is lost.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The one way tests and benches run `outpost server`: ready once it logged its three URLs. */
export async function startServerProcess(dir: string, env: Record<string, string>, options: number | ServerProcessOptions = {}): Promise<ServerProcess> {
  const { timeoutMs = 60_000, nodeFlags = [], urls: fixed, entry, args = [] } = typeof options === 'number' ? { timeoutMs: options, urls: undefined, entry: undefined } : options;
  const { child, output, stdout, exited } = spawnServer(dir, env, nodeFlags, entry ?? [BIN, 'server', ...args]);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let urls: { operatorUrl: string; deviceUrl: string; mqttUrl: string } | undefined;
  try {
    urls = await waitFor(
      async () => {
        if (fixed !== undefined) {
          const res = await fetch(`${fixed.operatorUrl}/readyz`);
          await res.text();
          return res.status === 200 ? fixed : undefined;
        }
        const operatorUrl = /"operatorUrl":"(http:\/\/[^"]+)"/.exec(output())?.[1];
        const deviceUrl = /"deviceUrl":"(https:\/\/[^"]+)"/.exec(output())?.[1];
        const mqttUrl = /"mqttUrl":"(mqtts:\/\/[^"]+)"/.exec(output())?.[1];
        return operatorUrl !== undefined && deviceUrl !== undefined && mqttUrl !== undefined ? { operatorUrl, deviceUrl, mqttUrl } : undefined;
      },
      { description: fixed === undefined ? 'outpost server logging its URLs' : 'outpost server answering GET /readyz with 200', timeoutMs, intervalMs: 50, abortIf: () => (child.exitCode === null ? undefined : new Error(`outpost server exited with ${String(child.exitCode)}`)) },
    );
  } catch (err) {
    await stop();
    throw new Error(`outpost server did not become ready (${(err as Error).message}):\n${output().slice(-4000)}`, { cause: err });
  }
  const pid = child.pid;
  return {
    child,
    ...urls,
    exited,
    output,
    stdout,
    async cpuSeconds() {
      const fields = (await readFile(`/proc/${String(pid)}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    stop,
  };
}

/**
 * Runs `outpost server` in `dir` with the same defaults as startServerProcess, for a start that
 * is expected to be refused: resolves with its exit code and output once it exits (SIGTERM
 * after `timeoutMs` if it does not).
 */
export async function runServerUntilExit(dir: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string; stderr: string }> {
  const { child, output, stderr, exited } = spawnServer(dir, env);
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return { code, output: output(), stderr: stderr() };
}

export async function adminApi(operatorUrl: string): Promise<(method: string, path: string, body?: unknown) => Promise<unknown>> {
  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<unknown> => {
    const res = await fetch(`${operatorUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  const { token } = (await call('POST', '/api/v1/auth/login', { username: 'admin', password: BENCH_PASSWORD })) as { token: string };
  return (method, path, body) => call(method, path, body, token);
}

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** Enrolls `ids` through the device listener (keys made here; not what a bench measures). */
export async function enrollDevices(server: Pick<ServerProcess, 'operatorUrl' | 'deviceUrl'>, ids: readonly string[]): Promise<DeviceIdentity[]> {
  const api = await adminApi(server.operatorUrl);
  const { chainPem } = (await api('GET', '/api/v1/ca')) as { chainPem: string };
  const { token } = (await api('POST', '/api/v1/enrollment-tokens', { group: 'bench', maxUses: ids.length, ttlSeconds: 3600 })) as { token: string };
  const out: DeviceIdentity[] = [];
  for (const deviceId of ids) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
    csr.setSubject([{ name: 'commonName', value: deviceId }]);
    csr.sign(forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    const body = JSON.stringify({ v: 1, token, csr: forge.pki.certificationRequestToPem(csr), deviceId });
    const answer = await new Promise<{ certificate: string; caChain: string }>((resolve, reject) => {
      const req = request(`${server.deviceUrl}/device/v1/enroll`, { method: 'POST', ca: chainPem, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? resolve(JSON.parse(text) as { certificate: string; caChain: string }) : reject(new Error(`enroll ${deviceId}: ${String(res.statusCode)} ${text}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
    out.push({ deviceId, keyPem: privateKey, certPem: answer.certificate, caPem: answer.caChain });
  }
  return out;
}
