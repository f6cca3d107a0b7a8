/**
 * Real processes for the agent's end-to-end tests: an `outpost server` (startServerProcess) on
 * free loopback ports with its own data dir (restartable on the same ports and data), `outpost-agent`
 * commands as child processes, the operator REST API and the live SSE stream.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePorts, serviceTimeoutMs, startServerProcess, waitFor, type ServerProcess } from '@outpost/e2e';

export const SERVER_BIN = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));
export const AGENT_BIN = fileURLToPath(new URL('../../edge-agent/dist/src/main.js', import.meta.url));
export const ADMIN_PASSWORD = 'agent-e2e-password';

export interface ServerInfo {
  readonly url: string;
  readonly deviceUrl: string;
  readonly mqttPort: number;
}

/** `outpost server` for the agent suites: fixed loopback ports and a temp dir that survive kill() and restart(). */
export interface OutpostServer {
  readonly dir: string;
  readonly info: ServerInfo;
  /** The last lines the process wrote. */
  tail(): string;
  /** SIGTERM, wait for the exit, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit; the dir stays, so restart() finds the data. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and dir (stopping it gracefully first if it runs). */
  restart(): Promise<ServerInfo>;
}

/** The one server-process helper (startServerProcess) on fixed ports, so an agent reconnects to the same URLs after a restart. */
export async function startOutpostServer(extra: Record<string, string> = {}): Promise<OutpostServer> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-agent-e2e-'));
  const [http, device, mqtt] = await findFreePorts(3);
  const info: ServerInfo = { url: `http://127.0.0.1:${String(http)}`, deviceUrl: `https://127.0.0.1:${String(device)}`, mqttPort: mqtt ?? 0 };
  const env = {
    OUTPOST_DATA_DIR: join(dir, 'data'),
    OUTPOST_SECRET_KEY_FILE: join(dir, 'secret.key'),
    OUTPOST_HTTP_PORT: String(http),
    OUTPOST_DEVICE_PORT: String(device),
    OUTPOST_MQTT_PORT: String(mqtt),
    OUTPOST_ADMIN_PASSWORD: ADMIN_PASSWORD,
    OUTPOST_LOG_LEVEL: 'warn',
    ...extra,
  };
  const urls = { operatorUrl: info.url, deviceUrl: info.deviceUrl, mqttUrl: `mqtts://127.0.0.1:${String(mqtt)}` };
  const start = (): Promise<ServerProcess> => startServerProcess(dir, env, { urls, timeoutMs: serviceTimeoutMs(30_000) });
  let server: ServerProcess | undefined = await start().catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  let stopped = false;
  return {
    dir,
    info,
    tail: () => server?.output().slice(-4000) ?? '',
    async stop() {
      if (stopped) return;
      stopped = true;
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      const running = server;
      if (running === undefined) return;
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
      await running.exited;
    },
    async restart() {
      await server?.stop();
      server = undefined;
      server = await start();
      return info;
    },
  };
}

export class Api {
  private constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  static async login(url: string): Promise<Api> {
    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
    return new Api(url, ((await res.json()) as { token: string }).token);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.call<T>(method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
}

export interface LiveEvent {
  readonly event: string;
  readonly deviceId?: string;
  readonly payload: Record<string, unknown>;
}

/** Subscribes to `/api/v1/live` and collects every event until close(). */
export async function openLive(api: Api, topics: string): Promise<{ events: LiveEvent[]; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${api.url}/api/v1/live?topics=${topics}`, { headers: { authorization: `Bearer ${api.token}` }, signal: controller.signal });
  if (res.status !== 200 || res.body === null) throw new Error(`live: ${res.status}`);
  const events: LiveEvent[] = [];
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) {
            const parsed = JSON.parse(data) as { deviceId?: string; payload: Record<string, unknown> };
            events.push({ event, ...parsed });
          }
        }
      }
    } catch {
      // closed
    }
  })();
  return { events, close: () => controller.abort() };
}

export interface AgentProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
}

export function startAgent(args: readonly string[]): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs an agent command to completion: exit code and output. */
export async function runAgent(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const agent = startAgent(args);
  const code = await agent.exited;
  return { code, output: agent.output() };
}

export async function until<T>(description: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  return waitFor(probe, { description, timeoutMs, intervalMs: 50 });
}
