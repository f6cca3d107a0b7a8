/**
 * `outpost demo`: the whole platform in this process (as `outpost server`, same configuration)
 * plus a fleet of real `outpost-agent` child processes with simulated cold-room sensors, the demo
 * rules, and a banner. SIGINT/SIGTERM stops the agents first (they flush their outboxes to the
 * still-running broker), then the platform.
 */
import { existsSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { LogFormat, OutpostConfig } from '@outpost/kernel';
import type { Platform } from '../server/platform.js';
import { createPlatform, displayPath, loadPlatformConfig } from '../server/run-server.js';
import { NoticeCapture, findAdmin, resolveAdminPassword } from './admin-access.js';
import { AgentProcess, runAgentCommand } from './agent-process.js';
import { busyPortHint, checkPortsFree, listenersOf } from './check-ports.js';
import { createDemoApi, type DemoApi } from './demo-api.js';
import { demoBanner, type BannerOta } from './demo-banner.js';
import { DEMO_GROUP, DEMO_RULES, WARM_DEVICE_INDEX, demoAgentConfig, demoDeviceIds } from './demo-fleet.js';
import { DEMO_HARDWARE, ensureDemoKey, ensureDemoTrust, prepareDemoOta, type DemoRolloutOptions } from './demo-ota.js';
import { waitOnline } from './wait-online.js';

export interface RunDemoOptions {
  readonly devices: number;
  /** The simulated collectors' sampling interval. */
  readonly intervalMs: number;
  readonly resetAdminPassword: boolean;
  readonly configFile?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Defaults to the process; tests pass their own emitter. */
  readonly signals?: NodeJS.EventEmitter;
  readonly cwd?: string;
  /** `outpost-agent`'s main.js; default: the installed @outpost/edge-agent's. */
  readonly agentBin?: string;
  /** Pause before an agent that exited on its own is started again (default 5 s). */
  readonly agentRestartDelayMs?: number;
  /** How long the banner waits for the agents to come online (default 30 s). */
  readonly onlineTimeoutMs?: number;
  /** Value of `--log-format`, if any (else OUTPOST_LOG_FORMAT). */
  readonly logFormat?: LogFormat;
  /** The demo rollout's waves and soak (default 10 %, 50 %, 100 % with a 30 s soak). */
  readonly rollout?: DemoRolloutOptions;
}

/** Resolves with the exit code: 0 after a clean stop, 1 on failure, 78 for invalid configuration. */
export async function runDemo(options: RunDemoOptions): Promise<number> {
  const fail = (message: string): number => {
    options.stderr.write(`outpost demo: ${message}\n`);
    return 1;
  };
  // Readable on a terminal: warnings and the demo's own progress lines, then the banner last;
  // everything else goes to the JSON log file the banner names.
  const loaded = loadPlatformConfig('demo', options, 'warn');
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config, log, logFile } = loaded;
  const cwd = options.cwd ?? process.cwd();
  const progress = (text: string, data: object = {}): void => {
    log.info(data, text);
    if (logFile !== undefined) options.stdout.write(`outpost demo: ${text}\n`);
  };

  let agentBin: string;
  try {
    agentBin = options.agentBin ?? locateAgentBin();
  } catch (err) {
    return fail(`cannot find the edge agent (@outpost/edge-agent): build it first (npx tsc -b): ${(err as Error).message}`);
  }
  const listeners = listenersOf(config);
  try {
    await checkPortsFree(listeners);
  } catch (err) {
    return fail((err as Error).message);
  }

  const notices = new NoticeCapture();
  let platform: Platform | undefined;
  let operatorUrl: string;
  progress(`starting the platform${logFile === undefined ? '' : ` (full log: ${displayPath(logFile, cwd)})`}`);
  try {
    platform = await createPlatform(config, log, notices);
    ({ operatorUrl } = await platform.start());
    progress(`platform running at ${operatorUrl}`);
  } catch (err) {
    log.fatal({ err }, 'outpost demo: the platform could not start');
    await platform?.close();
    return fail(`could not start the platform: ${busyPortHint(err, listeners) ?? (err instanceof Error ? err.message : String(err))}`);
  }

  const signals = options.signals ?? process;
  let requestStop: (signal: string) => void = () => undefined;
  let stopRequested: string | undefined;
  const stopped = new Promise<string>((resolve) => {
    requestStop = (signal) => {
      stopRequested ??= signal;
      resolve(signal);
    };
  });
  let secondSignal: () => void = () => undefined;
  const forced = new Promise<number>((resolve) => (secondSignal = () => resolve(1)));
  const onSignal = (signal: string): void => {
    if (stopRequested !== undefined) {
      log.warn({ signal }, 'second signal: exiting now');
      secondSignal();
      return;
    }
    requestStop(signal);
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);

  const fleet: AgentProcess[] = [];
  let revokeToken: () => Promise<void> = async () => undefined;
  let code = 0;
  try {
    const admin = await findAdmin(platform.operators);
    const apiToken = await platform.operators.createApiToken(admin, { name: 'outpost-demo', role: 'admin', ttlSeconds: 86_400 });
    const operators = platform.operators;
    revokeToken = () => operators.revokeApiToken(admin, apiToken.id);
    const api = createDemoApi(platform.operator, apiToken.token);
    const audit = platform.audit;
    const password = await resolveAdminPassword({
      operators,
      admin,
      generated: notices.generatedPassword(),
      fromEnv: config.adminPassword,
      reset: options.resetAdminPassword,
      audit: (entry) => audit.record(entry),
    });
    if (password.kind !== 'generated' && notices.text !== '') options.stdout.write(notices.text);

    // The signing key first, trusted before any agent starts: every demo device gets the
    // TrustSet with its first connection. OTA trouble is reported, never fatal to the demo.
    let ota: BannerOta;
    let signingKey: Awaited<ReturnType<typeof ensureDemoKey>> | undefined;
    let trusted = false;
    try {
      signingKey = await ensureDemoKey(config.dataDir);
      trusted = await ensureDemoTrust(api, signingKey.key);
      progress(`${signingKey.created ? 'made' : 'reused'} the demo signing key ${signingKey.key.keyId}${trusted ? ' (trusted by the TrustSet)' : ' (NOT in the TrustSet: an operator changed it)'}`);
      ota = { kind: 'failed', reason: 'not set up yet' };
    } catch (err) {
      log.warn({ err }, 'demo OTA: the signing key could not be made or registered');
      ota = { kind: 'failed', reason: `the signing key could not be made or registered: ${err instanceof Error ? err.message : String(err)}` };
    }

    const ids = demoDeviceIds(options.devices);
    const agentsDir = join(config.dataDir, 'demo', 'agents');
    const deviceServer = deviceServerUrl(config, platform.deviceUrl());
    // Each agent starts as soon as it is enrolled (enrollment runs a few at a time), so the first
    // devices are on the fleet page while the rest still enroll.
    const startAgent = (id: string): void => {
      if (stopRequested !== undefined) return;
      const agent = new AgentProcess({
        node: process.execPath,
        bin: agentBin,
        nodeFlags: agentNodeFlags(agentBin),
        deviceId: id,
        args: ['run', '--state-dir', join(agentsDir, id), '--hardware', DEMO_HARDWARE, '--log-level', config.logLevel === 'trace' || config.logLevel === 'debug' ? 'debug' : 'info'],
        env: options.env,
        log,
        restartDelayMs: options.agentRestartDelayMs ?? 5_000,
      });
      agent.start();
      fleet.push(agent);
    };
    const enrolled = await prepareAgents({ ids, agentsDir, intervalMs: options.intervalMs, api, deviceServer, agentBin, env: options.env, log, progress, stopRequested: () => stopRequested !== undefined, onReady: startAgent });
    const rules = stopRequested === undefined ? await ensureDemoRules(api, log) : [];
    if (stopRequested === undefined && signingKey !== undefined) {
      try {
        const prepared = await prepareDemoOta({ api, dataDir: config.dataDir, key: signingKey.key, keyFile: signingKey.file, trusted, now: Date.now(), rollout: options.rollout ?? { waves: [10, 50, 100], soak: '30s' } });
        ota = { kind: 'ready', ...prepared, keyFile: displayPath(prepared.keyFile, cwd) };
        progress(`demo release ${prepared.artifactId} uploaded; rollout ${prepared.rolloutId} is ${prepared.rolloutState}`);
      } catch (err) {
        log.warn({ err }, 'demo OTA: the release or the rollout could not be prepared');
        ota = { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
      }
    }
    if (stopRequested === undefined && fleet.length > 0) {
      progress(`${fleet.length} agent${fleet.length === 1 ? '' : 's'} started; waiting for them to come online…`);
      const timeoutMs = options.onlineTimeoutMs ?? 30_000;
      const online = await waitOnline({
        total: fleet.length,
        timeoutMs,
        countOnline: async () => {
          const answer = await api.ok<{ items: { id: string; online: boolean }[] }>('GET', `/devices?group=${DEMO_GROUP}&limit=100`);
          return answer.items.filter((d) => d.online && enrolled.includes(d.id)).length;
        },
        report: (count, total) => progress(`${count}/${total} online`),
        stopped: () => stopRequested !== undefined,
      });
      if (online < fleet.length && stopRequested === undefined) {
        progress(`not all agents came online within ${Math.round(timeoutMs / 1000)} s; they keep trying (see ${logFile === undefined ? 'the log' : displayPath(logFile, cwd)})`);
      }
    }
    if (stopRequested === undefined) {
      const running = ids.filter((id) => fleet.some((a) => a.deviceId === id));
      options.stdout.write(
        demoBanner({
          operatorUrl,
          admin: password,
          running,
          failed: ids.filter((id) => !running.includes(id)),
          warmDevice: ids[WARM_DEVICE_INDEX],
          rules,
          ota,
          telemetry: config.influx === undefined ? 'embedded' : config.influx.url,
          dataDir: config.dataDir,
          ...(logFile === undefined ? {} : { logFile: displayPath(logFile, cwd) }),
        }),
      );
    }
    log.info({ devices: fleet.map((a) => ({ id: a.deviceId, pid: a.pid })) }, 'demo fleet running');
  } catch (err) {
    log.error({ err }, 'outpost demo: setting up the fleet failed');
    options.stderr.write(`outpost demo: setting up the fleet failed: ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
    requestStop('setup failure');
  }

  const signal = await stopped;
  const shutdown = async (): Promise<number> => {
    progress('stopping the demo fleet, then the platform…', { signal, agents: fleet.length, deadlineMs: config.shutdownTimeoutMs });
    const results = await Promise.all(fleet.map((agent) => agent.stop(config.shutdownTimeoutMs)));
    let clean = results.every((r) => !r.killed);
    try {
      await revokeToken();
    } catch (err) {
      log.warn({ err }, 'could not revoke the demo API token (it expires within a day)');
    }
    const closed = await (platform as Platform).close();
    clean &&= closed.clean;
    progress(clean ? 'stopped' : 'stopped (not everything closed in time: see the log)');
    return clean ? code : 1;
  };
  const exitCode = await Promise.race([shutdown(), forced]);
  signals.off('SIGTERM', onTerm);
  signals.off('SIGINT', onInt);
  return exitCode;
}

/** `outpost-agent`'s main.js next to the installed @outpost/edge-agent's entry point. */
export function locateAgentBin(): string {
  const dist = dirname(createRequire(import.meta.url).resolve('@outpost/edge-agent'));
  const oneFile = join(dist, '..', 'standalone', 'dist', 'src', 'main.js');
  return existsSync(oneFile) ? oneFile : join(dist, 'main.js');
}

/**
 * The node options a device's launcher gives the one-file agent (edge-agent/install/launcher.sh:
 * a small heap, lite mode; `--no-expose-wasm` before Node 23, which refuses it), so a demo agent
 * costs what it costs on a device (~50 MB instead of ~90 MB for the package build); none for
 * another build of the agent.
 */
export function agentNodeFlags(agentBin: string, nodeVersion = process.versions.node): string[] {
  if (!agentBin.endsWith(join('standalone', 'dist', 'src', 'main.js'))) return [];
  const flags = ['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode'];
  return Number(nodeVersion.split('.')[0]) >= 23 ? flags : [...flags, '--no-expose-wasm'];
}

/** The device listener as the agents reach it: the public host, with the configured or bound port. */
export function deviceServerUrl(config: OutpostConfig, boundUrl: string | undefined): string {
  const boundPort = boundUrl === undefined ? undefined : Number(new URL(boundUrl).port);
  const port = config.device.port !== 0 ? config.device.port : boundPort;
  const host = config.publicHost.includes(':') ? `[${config.publicHost}]` : config.publicHost;
  return `https://${host}:${String(port)}`;
}

/**
 * Writes each agent's agent.json (every run, so `--interval` applies) and enrolls those not
 * enrolled yet with one enrollment token for this run (revoked afterwards). Answers the ids of
 * the agents that are enrolled and can run.
 */
async function prepareAgents(input: {
  ids: readonly string[];
  agentsDir: string;
  intervalMs: number;
  api: DemoApi;
  deviceServer: string;
  agentBin: string;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** A progress line for the person watching. */
  progress: (text: string) => void;
  stopRequested: () => boolean;
  /** Called for each agent as soon as it can run (enrolled earlier, or just now). */
  onReady: (id: string) => void;
  /** How many `outpost-agent enroll` processes run at once (default: the CPU count, at least 2). */
  enrollConcurrency?: number;
}): Promise<string[]> {
  const { log } = input;
  const toEnroll: string[] = [];
  for (const [index, id] of input.ids.entries()) {
    const dir = join(input.agentsDir, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'agent.json'), `${JSON.stringify(demoAgentConfig(index, input.intervalMs), null, 2)}\n`, { mode: 0o600 });
    if (!(await exists(join(dir, 'identity.json')))) toEnroll.push(id);
  }
  const failed = new Set<string>();
  const reused = input.ids.length - toEnroll.length;
  if (reused > 0) input.progress(`${reused} device${reused === 1 ? '' : 's'} enrolled by an earlier start (reused)`);
  for (const id of input.ids) if (!toEnroll.includes(id)) input.onReady(id);
  if (toEnroll.length > 0 && !input.stopRequested()) {
    const token = await input.api.ok<{ id: string; token: string; caFingerprint: string }>('POST', '/enrollment-tokens', {
      group: DEMO_GROUP,
      maxUses: toEnroll.length,
      ttlSeconds: 3600,
    });
    try {
      log.info({ devices: toEnroll, server: input.deviceServer }, `enrolling ${toEnroll.length} demo agent${toEnroll.length === 1 ? '' : 's'}`);
      input.progress(`enrolling ${toEnroll.length} device${toEnroll.length === 1 ? '' : 's'}…`);
      const enrollOne = async (id: string): Promise<void> => {
        const { code, tail } = await runAgentCommand({ node: process.execPath, bin: input.agentBin, nodeFlags: agentNodeFlags(input.agentBin), deviceId: id, env: input.env, log }, [
          'enroll',
          '--server',
          input.deviceServer,
          '--token',
          token.token,
          '--ca-fingerprint',
          token.caFingerprint,
          '--state-dir',
          join(input.agentsDir, id),
          '--device-id',
          id,
        ]);
        if (code === 0) {
          input.onReady(id);
          return;
        }
        failed.add(id);
        log.error({ device: id, code, output: tail }, `demo agent ${id} could not enroll: ${tail.split('\n').at(-1) ?? ''}`);
      };
      const queue = [...toEnroll];
      const workers = Math.max(1, Math.min(queue.length, input.enrollConcurrency ?? Math.max(2, availableParallelism())));
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let id = queue.shift(); id !== undefined && !input.stopRequested(); id = queue.shift()) await enrollOne(id);
        }),
      );
      for (const id of queue) failed.add(id);
      input.progress(`${toEnroll.length - failed.size}/${toEnroll.length} enrolled${failed.size === 0 ? '' : ` (failed: ${[...failed].join(', ')})`}`);
    } finally {
      const revoked = await input.api.call('DELETE', `/enrollment-tokens/${encodeURIComponent(token.id)}`);
      if (revoked.status >= 300) log.warn({ status: revoked.status }, 'could not revoke the demo enrollment token');
    }
  }
  return input.ids.filter((id) => !failed.has(id));
}

/** Creates the demo rules that do not exist yet; answers the ids of those that exist now. */
async function ensureDemoRules(api: DemoApi, log: Logger): Promise<string[]> {
  const present: string[] = [];
  for (const rule of DEMO_RULES) {
    const id = String(rule['id']);
    const existing = await api.call('GET', `/rules/${encodeURIComponent(id)}`);
    if (existing.status === 200) {
      present.push(id);
      continue;
    }
    const created = await api.call<{ code?: string; message?: string }>('POST', '/rules', rule);
    if (created.status === 201 || created.status === 200) {
      log.info({ rule: id }, `demo rule ${id} created`);
      present.push(id);
    } else {
      log.warn({ rule: id, status: created.status, answer: created.body }, `demo rule ${id} could not be created: ${created.body.code ?? ''} ${created.body.message ?? ''}`);
    }
  }
  return present;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
