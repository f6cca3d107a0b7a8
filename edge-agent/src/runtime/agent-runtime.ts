/**
 * `outpost-agent run`: the enrolled device at work. Wires the data path (pipeline → outbox),
 * the MQTT link and telemetry publisher, the control queue, DesiredConfig, Commands, TrustSet,
 * DeviceStatus, OTA (ota/ota-engine.ts: resumed at start, jobs from `ota/job`, progress through
 * the control queue, `firmware` in DeviceStatus), certificate renewal and status.json. Stop
 * flushes the outbox first, then closes in reverse order.
 */
import type { DesiredConfig, EdgeAlert, TelemetrySample } from '@outpost/protocol';
import { encodePayload, topics } from '@outpost/protocol';
import { createMqttLink } from '../connection/mqtt-link.js';
import type { MqttLink } from '../connection/mqtt-link.js';
import { createPacer } from '../connection/pacer.js';
import { createTelemetryPublisher } from '../connection/telemetry-publisher.js';
import type { TelemetryPublisher } from '../connection/telemetry-publisher.js';
import { writeFileAtomic, writeJsonAtomic } from '../identity/atomic-file.js';
import { DEFAULT_RENEW_GRACE_MS, renewAt } from '../identity/renewal.js';
import { loadIdentity, loadTrustSet } from '../identity/state-dir.js';
import type { DeviceIdentity, StatePaths } from '../identity/state-dir.js';
import type { Outbox } from '../outbox/outbox-types.js';
import { createOtaEngine } from '../ota/ota-engine.js';
import type { OtaEngine, OtaOptions } from '../ota/ota-engine.js';
import { createCommandAllowlist } from './command-allowlist.js';
import { createCommandExecutor } from './command-executor.js';
import { fromAgentConfig, fromDesiredConfig, readAgentConfig, readAppliedDesired } from './config-source.js';
import type { EffectiveConfig } from './config-source.js';
import { createControlQueue } from './control-queue.js';
import type { ControlQueue } from './control-queue.js';
import { createInboundHandler } from './inbound-handler.js';
import type { DataPath } from './pipeline-port.js';
import { createPipelineHost } from './pipeline-host.js';
import { createRenewalTask } from './renewal-task.js';
import type { PipelineHost } from './pipeline-host.js';
import { writeStatusFile } from './status-file.js';
import type { AgentStatusFile } from './status-file.js';

export interface AgentLog {
  debug(o: object, m: string): void;
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface AgentRuntimeOptions {
  readonly paths: StatePaths;
  readonly configFile: string;
  readonly agentVersion: string;
  readonly dataPath: DataPath;
  readonly log: AgentLog;
  readonly now?: () => number;
  /** DeviceStatus and status.json period; default 60 s. */
  readonly statusIntervalMs?: number;
  /** How often renewal is considered; default 1 h. */
  readonly renewCheckMs?: number;
  readonly renewGraceMs?: number;
  /** Overrides the config's reconnect bounds (tests). */
  readonly reconnect?: { readonly minMs: number; readonly maxMs: number };
  readonly ackTimeoutMs?: number;
  readonly maxInFlight?: number;
  readonly connectTimeoutMs?: number;
  readonly keepaliveS?: number;
  /**
   * A version that has run this long without crashing is healthy for the launcher even when it never
   * reached the broker (a device offline for days may be restarted any number of times without being
   * rolled back to an older agent) — except while an agent self-update is on trial, whose confirmation
   * the OTA engine decides. Default 10 min.
   */
  readonly stableAfterMs?: number;
  readonly rebootCommand: string;
  readonly outboxMaxBytes?: number;
  /** How long stop() keeps sending what the outbox holds; default 5 s. */
  readonly flushTimeoutMs?: number;
  /** restart-agent was asked for: the caller stops the runtime and exits with RESTART_EXIT_CODE. */
  readonly onRestartRequested: () => void;
  /** OTA: the agent's install root (slots a/b, `current`); undefined: agent self-updates are refused. */
  readonly agentHome?: string;
  /** OTA: this device's hardware identifiers (ota/hardware.ts). */
  readonly hardware?: readonly string[];
  readonly ota?: Partial<OtaOptions>;
}

export interface AgentRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly deviceId: string;
}

export interface RuntimeState {
  identity: DeviceIdentity;
  config: EffectiveConfig;
  trustVersion: number | undefined;
  lastError: { code: string; message: string; at: number } | undefined;
}

export async function createAgentRuntime(options: AgentRuntimeOptions): Promise<AgentRuntime> {
  const { paths, log, dataPath } = options;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const graceMs = options.renewGraceMs ?? DEFAULT_RENEW_GRACE_MS;
  const identity = await loadIdentity(paths);
  const trust = await loadTrustSet(paths);
  const stored = await readAppliedDesired(paths.appliedConfig).catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'the stored desired config is unreadable; agent.json applies until the platform sends it again');
    return undefined;
  });
  // agent.json's collectors matter only while no DesiredConfig applies; then a broken file must stop the start.
  // Its allowCommands always matters: unreadable, it allows nothing.
  const local = await readAgentConfig(options.configFile).catch((err: unknown) => {
    if (stored === undefined) throw err;
    log.warn({ err: (err as Error).message }, 'agent.json is unreadable; the stored desired config applies, and no remote command collector is allowed');
    return undefined;
  });
  const allowlist = createCommandAllowlist(local?.config.allowCommands ?? [], { source: options.configFile });
  // A stored DesiredConfig is checked again: the allowlist may have shrunk since it was applied.
  const storedVerdict = stored === undefined ? undefined : await allowlist.check(stored);
  if (storedVerdict !== undefined && !storedVerdict.ok) {
    log.warn({ code: storedVerdict.code, reason: storedVerdict.reason }, 'the stored desired config is refused now; agent.json applies until the platform sends an allowed one');
  }
  const applied = storedVerdict?.ok === true ? storedVerdict.config : undefined;
  const initial =
    applied !== undefined ? fromDesiredConfig(applied) : local !== undefined ? fromAgentConfig(local.config, local.origin, identity.limits) : await readAgentConfig(options.configFile).then((f) => fromAgentConfig(f.config, f.origin, identity.limits));
  const state: RuntimeState = {
    identity,
    config: initial,
    trustVersion: trust?.version,
    lastError: undefined,
  };
  const deviceId = identity.deviceId;
  let outbox: Outbox | undefined;
  let link: MqttLink | undefined;
  let publisher: TelemetryPublisher | undefined;
  let control: ControlQueue | undefined;
  let host: PipelineHost | undefined;
  let ota: OtaEngine | undefined;
  const timers: NodeJS.Timeout[] = [];
  const writes = new Set<Promise<void>>();
  let stopping = false;
  let lateRefusals = 0;

  function noteError(code: string, message: string): void {
    state.lastError = { code, message: message.slice(0, 1024), at: now() };
  }

  const limits = () => state.config.spec.limits;
  const pacer = createPacer(limits().msgsPerS, limits().bytesPerS, now);

  function outboxStats(): AgentStatusFile['outbox'] {
    const s = outbox?.stats();
    return {
      depth: s?.depth ?? 0,
      bytes: s?.bytes ?? 0,
      dropped: s?.dropped ?? 0,
      refused: (s?.refused ?? 0) + lateRefusals,
      ...(s?.droppedSamples === undefined ? {} : { droppedSamples: s.droppedSamples }),
      ...(s?.maxBytes === undefined ? {} : { maxBytes: s.maxBytes }),
    };
  }

  /** The seq of the oldest batch still held, refreshed with each status report. */
  let oldestSeq: number | undefined;

  function statusFile(stateName: AgentStatusFile['state']): AgentStatusFile {
    const { identity: id, config } = state;
    const box = outboxStats();
    const firmware = ota?.firmware();
    const otaJob = ota?.summary();
    return {
      v: 1,
      pid: process.pid,
      state: stateName,
      deviceId,
      agentVersion: options.agentVersion,
      protocolVersion: 1,
      startedAt,
      updatedAt: now(),
      mqttUrl: id.mqttUrl,
      outbox: box.depth > 0 && oldestSeq !== undefined ? { ...box, oldestSeq } : box,
      ...(publisher?.lastSentAt === undefined ? {} : { lastSentAt: publisher.lastSentAt }),
      certificate: { serial: id.serial, notAfter: id.notAfter, renewAt: renewAt(id) },
      config: config.version === undefined ? { origin: config.origin } : { origin: config.origin, version: config.version },
      ...(state.trustVersion === undefined ? {} : { trustVersion: state.trustVersion }),
      ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      ...(firmware === undefined ? {} : { firmware }),
      ...(otaJob === undefined ? {} : { ota: otaJob }),
    };
  }

  async function reportStatus(): Promise<void> {
    const connected = link?.connected === true;
    oldestSeq = (await outbox?.peek(1).catch(() => []))?.[0]?.seq;
    try {
      await writeStatusFile(paths.status, statusFile(connected ? 'connected' : 'disconnected'));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot write status.json');
    }
    if (!connected || link === undefined) return;
    const lastError = state.lastError === undefined ? undefined : { code: state.lastError.code, message: state.lastError.message };
    const firmware = ota?.firmware();
    const payload = encodePayload('DeviceStatus', {
      v: 1,
      state: 'online',
      agentVersion: options.agentVersion,
      ...(firmware === undefined ? {} : { firmware }),
      uptimeS: Math.floor((now() - startedAt) / 1000),
      outbox: outboxStats(),
      ...(lastError === undefined ? {} : { lastError }),
      at: now(),
    });
    await link.publish(topics.status(deviceId), payload, { qos: 1, retain: true }).catch((err: unknown) => {
      log.debug({ err: (err as Error).message }, 'status not sent');
    });
  }

  /** A write to the outbox under way; stop() waits for them. Called in pipeline order (stage and seal take their seq at once). */
  function track(write: Promise<unknown>, what: string): void {
    const tracked = write.then(
      () => undefined,
      (err: unknown) => {
        noteError('AGENT_OUTBOX_FAILED', (err as Error).message);
        log.error({ err: (err as Error).message }, `could not store ${what} in the outbox`);
      },
    );
    writes.add(tracked);
    void tracked.finally(() => writes.delete(tracked));
  }

  function onSample(sample: TelemetrySample): void {
    const box = outbox;
    if (box === undefined) return;
    try {
      track(box.stage(sample), 'a sample');
    } catch (err) {
      track(Promise.reject(err), 'a sample');
    }
  }

  function onBatch(samples: readonly TelemetrySample[]): void {
    const box = outbox;
    if (box === undefined || samples.length === 0) return;
    try {
      track(
        box.seal().then(() => publisher?.wake()),
        'a batch',
      );
    } catch (err) {
      track(Promise.reject(err), 'a batch');
    }
  }

  /**
   * The launcher's health contract (install/launcher.sh): connected and running means healthy, so
   * the count of unhealthy starts goes back to 0 (atomically) and this slot is not rolled back.
   */
  let markedHealthy = false;
  async function markHealthy(why = 'connected and running'): Promise<void> {
    if (markedHealthy || stopping) return;
    markedHealthy = true;
    try {
      await writeFileAtomic(paths.bootAttempts, '0\n', 0o644);
      log.info({ file: paths.bootAttempts }, `${why}: marked healthy (boot attempts reset)`);
    } catch (err) {
      markedHealthy = false;
      noteError('AGENT_HEALTH_MARK_FAILED', (err as Error).message);
      log.warn({ err: (err as Error).message, file: paths.bootAttempts }, 'cannot reset the boot attempt count; the launcher may roll this version back');
    }
  }

  function onAlert(alert: EdgeAlert): void {
    control?.push({ kind: 'alert', topic: topics.alerts(deviceId), payload: encodePayload('EdgeAlert', alert) });
  }

  async function applyConfig(next: EffectiveConfig): Promise<{ ok: true } | { ok: false; code: string; reason: string }> {
    if (host === undefined) return { ok: false, code: 'AGENT_STOPPING', reason: 'the agent is stopping' };
    const result = await host.apply(next.spec);
    if (!result.ok) return result;
    state.config = next;
    pacer.setRates(next.spec.limits.msgsPerS, next.spec.limits.bytesPerS);
    link?.setReconnect(options.reconnect ?? next.reconnect);
    return result;
  }

  async function applyDesired(desired: DesiredConfig): Promise<{ ok: true } | { ok: false; code: string; reason: string }> {
    const verdict = await allowlist.check(desired);
    if (!verdict.ok) return verdict;
    const result = await applyConfig(fromDesiredConfig(verdict.config));
    if (result.ok) await writeJsonAtomic(paths.appliedConfig, desired, 0o644);
    return result;
  }

  const checkRenewal = createRenewalTask({
    paths,
    graceMs,
    now,
    log,
    identity: () => state.identity,
    stopping: () => stopping,
    noteError,
    onRenewed: (renewed) => {
      state.identity = renewed;
      link?.reconnectNow('certificate renewed');
    },
  });

  function every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    timers.push(timer);
  }

  return {
    deviceId,
    async start(): Promise<void> {
      await checkRenewal();
      const outboxMaxBytes = options.outboxMaxBytes ?? local?.config.outbox?.maxBytes;
      const dropWarnIntervalMs = local?.config.outbox?.dropWarnIntervalMs;
      outbox = await dataPath.openOutbox({
        dir: paths.outbox,
        log,
        ...(outboxMaxBytes === undefined ? {} : { maxBytes: outboxMaxBytes }),
        ...(dropWarnIntervalMs === undefined ? {} : { dropWarnIntervalMs }),
      });
      host = createPipelineHost({
        dataPath,
        log,
        onSample,
        onBatch,
        onAlert,
        onError: (err) => {
          noteError('AGENT_PIPELINE_FAILED', (err as Error).message);
          log.error({ err: (err as Error).message }, 'pipeline failed');
        },
      });
      const first = await host.apply(state.config.spec);
      if (!first.ok) throw Object.assign(new Error(`the configuration cannot run: ${first.reason}`), { code: first.code });
      const box = outbox;
      const otaEngine = createOtaEngine({
        stateDir: paths.dir,
        agentVersion: options.agentVersion,
        agentHome: options.agentHome,
        hardware: options.hardware ?? [process.arch],
        identity: () => state.identity,
        trust: () => loadTrustSet(paths),
        log,
        now,
        report: (progress, onSent) =>
          control?.push({ kind: 'ota-progress', topic: topics.otaProgress(deviceId), payload: encodePayload('OtaProgress', progress), ...(onSent === undefined ? {} : { onSent }) }),
        requestRestart: options.onRestartRequested,
        ...(options.ota === undefined ? {} : { options: options.ota }),
      });
      ota = otaEngine;
      const inbound = createInboundHandler({
        deviceId,
        paths,
        log,
        now,
        state,
        outbox: box,
        onLateRefusal: () => {
          lateRefusals += 1;
        },
        applyDesired,
        report: (kind, topic, payload) => control?.push({ kind, topic, payload }),
        onOtaJob: (job) => otaEngine.onJob(job),
        commands: createCommandExecutor({
          now,
          log,
          rebootCommand: options.rebootCommand,
          collectNow: async () => {
            await host?.collectNow();
          },
          diagnostics: () => ({ ...statusFile(link?.connected === true ? 'connected' : 'disconnected'), node: process.version, platform: process.platform, arch: process.arch }),
          requestRestart: options.onRestartRequested,
        }),
        noteError,
      });
      link = createMqttLink({
        identity: () => state.identity,
        reconnect: options.reconnect ?? state.config.reconnect,
        ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
        ...(options.keepaliveS === undefined ? {} : { keepaliveS: options.keepaliveS }),
        log,
        onConnected: () => {
          publisher?.restart();
          control?.flush();
          void reportStatus();
          void markHealthy();
          otaEngine.onConnected();
        },
        onDisconnected: (reason) => {
          noteError('AGENT_DISCONNECTED', reason);
          void reportStatus();
        },
        onConnectFailed: (failure) => otaEngine.onConnectFailed(failure),
        onMessage: (topic, payload) => void inbound.handle(topic, payload),
      });
      const activeLink = link;
      control = createControlQueue(activeLink, { onDrop: (m) => log.warn({ kind: m.kind }, 'control queue full: dropped the oldest message') });
      publisher = createTelemetryPublisher({
        outbox: box,
        link: activeLink,
        topic: () => topics.telemetry(deviceId),
        pacer,
        ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
        ...(options.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: options.ackTimeoutMs }),
        now,
        log,
        onError: noteError,
      });
      // Resumed before the link starts: the retained job that arrives on connect finds its record.
      await otaEngine.start();
      const stableAfterMs = options.stableAfterMs ?? 600_000;
      const stable = setTimeout(() => {
        if (otaEngine.agentTrialPending()) return;
        void markHealthy(`running for ${Math.round(stableAfterMs / 1000)} s without a crash (the broker not reached yet)`);
      }, stableAfterMs);
      stable.unref();
      timers.push(stable);
      every(options.statusIntervalMs ?? 60_000, reportStatus);
      every(options.renewCheckMs ?? 3_600_000, checkRenewal);
      activeLink.start();
      await reportStatus();
      log.info({ deviceId, config: state.config.origin, configVersion: state.config.version, outbox: outboxStats() }, 'agent running');
    },
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearInterval(t);
      await ota?.close();
      await host?.stop();
      host = undefined;
      while (writes.size > 0) await Promise.all([...writes]);
      const deadline = now() + (options.flushTimeoutMs ?? 5_000);
      while (link?.connected === true && publisher !== undefined && (outbox?.stats().depth ?? 0) > 0 && now() < deadline) {
        publisher.wake();
        await publisher.drain(Math.max(1, deadline - now()));
        if (publisher.inFlight === 0) await new Promise((r) => setTimeout(r, 10));
      }
      await control?.drain(Math.max(1, deadline - now()));
      await publisher?.close();
      await link?.close(encodePayload('DeviceStatus', { v: 1, state: 'offline' }));
      await outbox?.close();
      await writeStatusFile(paths.status, statusFile('stopped')).catch(() => undefined);
      log.info({ outbox: outboxStats() }, 'agent stopped');
    },
  };
}
