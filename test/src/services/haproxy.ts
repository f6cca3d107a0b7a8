/**
 * A real HAProxy (Debian's haproxy) in front of Outpost nodes, for the cluster tests and
 * `npm run cluster`: deploy/haproxy/haproxy.cfg as committed, with its `bind` lines moved to free
 * loopback ports and the `server` lines of its three backends replaced by the nodes given.
 *
 *   const lb = await startHaproxy({ backends: [{ name: 'broker-1', role: 'broker', host: '127.0.0.1', mqttPort, devicePort, operatorPort }, …] });
 *   // lb.mqttUrl (mqtts://127.0.0.1:<port>), lb.deviceUrl (https://…), lb.operatorUrl (http://…)
 *   // await lb.serverStates() → { 'broker_mqtt/broker-1': 'UP', … }
 *
 * Deadlines scale with OUTPOST_TEST_SERVICE_TIMEOUT_MS. Needs /usr/sbin/haproxy:
 * `bash scripts/install-test-deps.sh` installs it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceTimeoutMs } from './service-timeout.js';
import { serviceHandle, spawnService, type ServiceContext, type ServiceHandle } from './spawn-service.js';

export const HAPROXY_EXECUTABLE = '/usr/sbin/haproxy';

/** deploy/haproxy/haproxy.cfg in this repository. */
export const HAPROXY_CONFIG_FILE = fileURLToPath(new URL('../../../../deploy/haproxy/haproxy.cfg', import.meta.url));

export interface HaproxyBackend {
  /** Server name in HAProxy (broker-1, control-1…). */
  readonly name: string;
  /** broker nodes take MQTT and device HTTPS; control nodes the operator listener; `all` takes both. */
  readonly role: 'broker' | 'control' | 'all';
  readonly host: string;
  readonly mqttPort?: number;
  readonly devicePort?: number;
  /** Where GET /readyz is checked (and, on control nodes, where operator traffic goes). */
  readonly operatorPort: number;
}

/** HAProxy's own ports: a cluster on loopback gives each node its own 127.0.0.x address with these same ports. */
export interface HaproxyPorts {
  readonly mqtt: number;
  readonly device: number;
  readonly operator: number;
}

export interface StartHaproxyOptions {
  /** The nodes, or a function of HAProxy's ports (known only once they are allocated). */
  readonly backends: readonly HaproxyBackend[] | ((ports: HaproxyPorts) => readonly HaproxyBackend[]);
  /** HAProxy's maxconn (default 8000: each connection takes two descriptors and this machine's limit may be 20000). */
  readonly maxConnections?: number;
  /** Health-check interval (default 1 s, as in the committed file; minimum 100 ms). */
  readonly checkIntervalMs?: number;
  /** Deadline for the stats page to answer (default 10 s, or OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
  readonly startTimeoutMs?: number;
  readonly executable?: string;
  /** The config to render (default deploy/haproxy/haproxy.cfg). */
  readonly configFile?: string;
}

/** haproxy (ready when its stats page answers). */
export interface HaproxyHandle extends ServiceHandle {
  readonly mqttPort: number;
  readonly devicePort: number;
  readonly operatorPort: number;
  readonly statsPort: number;
  /** mqtts://127.0.0.1:<mqttPort> */
  readonly mqttUrl: string;
  /** https://127.0.0.1:<devicePort> */
  readonly deviceUrl: string;
  /** http://127.0.0.1:<operatorPort> */
  readonly operatorUrl: string;
  /** The rendered configuration. */
  readonly config: string;
  /** Each server's check status by "backend/server": UP, DOWN, "UP 1/2", MAINT… */
  serverStates(): Promise<Record<string, string>>;
  /** Current sessions per "backend/server" (scur). */
  sessions(): Promise<Record<string, number>>;
}

const FRONTEND_PORT_INDEX: Readonly<Record<string, number>> = { mqtt: 0, device_https: 1, operator: 2, stats: 3 };

/** Starts haproxy on four free loopback ports (MQTT, device HTTPS, operator, stats) and resolves once its stats page answers. */
export async function startHaproxy(options: StartHaproxyOptions): Promise<HaproxyHandle> {
  const template = await readFile(options.configFile ?? HAPROXY_CONFIG_FILE, 'utf8');
  let rendered = '';
  const service = await spawnService<true>({
    name: 'haproxy',
    executable: options.executable ?? HAPROXY_EXECUTABLE,
    installHint: 'run `bash scripts/install-test-deps.sh` (as root) to install the Debian package haproxy',
    tempDirPrefix: 'outpost-haproxy-',
    portCount: 4,
    configure: async (ctx) => {
      const backends = typeof options.backends === 'function' ? options.backends({ mqtt: portAt(ctx.ports, 0), device: portAt(ctx.ports, 1), operator: portAt(ctx.ports, 2) }) : options.backends;
      if (backends.length === 0) throw new Error('startHaproxy: give at least one backend');
      rendered = renderHaproxyConfig(template, { ports: ctx.ports, backends, checkIntervalMs: options.checkIntervalMs ?? 1_000, maxConnections: options.maxConnections ?? 8_000 });
      return writeConfig(ctx, rendered);
    },
    probe: async ({ ports }) => ((await statsCsv(portAt(ports, 3))).includes('# pxname') ? true : undefined),
    startTimeoutMs: options.startTimeoutMs ?? serviceTimeoutMs(10_000),
    stopTimeoutMs: serviceTimeoutMs(10_000),
    portConflict: /cannot bind socket|Address already in use/i,
  });
  const [mqttPort, devicePort, operatorPort, statsPort] = [0, 1, 2, 3].map((i) => portAt(service.ports, i)) as [number, number, number, number];
  const rows = async (): Promise<Record<string, string>[]> => parseCsv(await statsCsv(statsPort)).filter((row) => row['svname'] !== 'FRONTEND' && row['svname'] !== 'BACKEND');
  return serviceHandle(service, {
    mqttPort,
    devicePort,
    operatorPort,
    statsPort,
    mqttUrl: `mqtts://127.0.0.1:${mqttPort}`,
    deviceUrl: `https://127.0.0.1:${devicePort}`,
    operatorUrl: `http://127.0.0.1:${operatorPort}`,
    get config() {
      return rendered;
    },
    serverStates: async () => Object.fromEntries((await rows()).map((row) => [`${row['# pxname'] ?? ''}/${row['svname'] ?? ''}`, row['status'] ?? ''])),
    sessions: async () => Object.fromEntries((await rows()).map((row) => [`${row['# pxname'] ?? ''}/${row['svname'] ?? ''}`, Number(row['scur'] ?? 0)])),
  });
}

/**
 * The committed config with its four `bind` lines on 127.0.0.1:<ports[i]> (mqtt, device_https,
 * operator, stats) and the `server` lines of broker_mqtt, broker_device and control_operator
 * replaced by the backends given. Everything else (timeouts, checks, balance) stays as committed.
 */
export function renderHaproxyConfig(template: string, input: { readonly ports: readonly number[]; readonly backends: readonly HaproxyBackend[]; readonly checkIntervalMs: number; readonly maxConnections: number }): string {
  const servers: Readonly<Record<string, string[]>> = {
    broker_mqtt: input.backends.filter((b) => b.role !== 'control').map((b) => `    server ${b.name} ${b.host}:${required(b.mqttPort, b, 'mqttPort')} check port ${b.operatorPort}`),
    broker_device: input.backends.filter((b) => b.role !== 'control').map((b) => `    server ${b.name} ${b.host}:${required(b.devicePort, b, 'devicePort')} check port ${b.operatorPort}`),
    control_operator: input.backends.filter((b) => b.role !== 'broker').map((b) => `    server ${b.name} ${b.host}:${b.operatorPort} check`),
  };
  const inter = `inter ${Math.max(100, input.checkIntervalMs)}ms`;
  const out: string[] = [];
  let section: { kind: string; name: string } | undefined;
  const flush = (): void => {
    if (section?.kind === 'backend') out.push(...(servers[section.name] ?? []));
  };
  for (const line of template.split('\n')) {
    const header = /^(global|defaults|frontend|backend|listen)\b\s*(\S*)/.exec(line);
    if (header !== null) {
      // Servers go right after the section's last line (before the blank line that ends it).
      while (out.length > 0 && out[out.length - 1]?.trim() === '') out.pop();
      flush();
      out.push('');
      section = { kind: header[1] ?? '', name: header[2] ?? '' };
      out.push(line);
      continue;
    }
    const trimmed = line.trim();
    if (section?.kind === 'frontend' && trimmed.startsWith('bind ')) {
      const index = FRONTEND_PORT_INDEX[section.name];
      if (index === undefined) throw new Error(`haproxy.cfg: frontend ${section.name} is not one the test service knows`);
      out.push(`    bind 127.0.0.1:${portAt(input.ports, index)}`);
      continue;
    }
    if (section?.kind === 'backend' && trimmed.startsWith('server ')) continue;
    if (trimmed.startsWith('maxconn ')) {
      if (section?.kind === 'global') out.push(`    maxconn ${input.maxConnections}`);
      continue;
    }
    if (section?.kind === 'backend' && trimmed.startsWith('default-server ')) {
      out.push(line.replace(/\binter \S+/, inter));
      continue;
    }
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1]?.trim() === '') out.pop();
  flush();
  return `${out.join('\n').replace(/^\n+/, '')}\n`;
}

function required(port: number | undefined, backend: HaproxyBackend, what: string): number {
  if (port === undefined) throw new Error(`startHaproxy: backend ${backend.name} (${backend.role}) needs ${what}`);
  return port;
}

function portAt(ports: readonly number[], index: number): number {
  const port = ports[index];
  if (port === undefined) throw new Error(`haproxy: port ${index} was not allocated`);
  return port;
}

async function writeConfig(ctx: ServiceContext, config: string): Promise<readonly string[]> {
  const file = path.join(ctx.dir, 'haproxy.cfg');
  await writeFile(file, config, { mode: 0o600 });
  // -db: stay in the foreground; -W would fork a master; logs go to stdout (`log stdout`).
  return ['-db', '-f', file];
}

function statsCsv(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/stats;csv', timeout: 1_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('haproxy stats did not answer within 1000 ms')));
    request.on('error', reject);
  });
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const columns = (head ?? '').split(',');
  return lines.filter((line) => line !== '').map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i] ?? String(i), value])));
}
