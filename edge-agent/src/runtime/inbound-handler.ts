/**
 * What the platform sends the device, validated once here: DesiredConfig (apply or refuse,
 * then ReportedConfig), Command (CommandResult), TrustSet (keep or refuse), OtaJob (to the OTA
 * engine; a malformed one is answered `failed` OTA_JOB_INVALID when it has a usable jobId) and
 * PublishError (the outbox refuses the batch for good).
 */
import { canonicalJson, decodePayload, encodePayload, parseTopic, topics } from '@outpost/protocol';
import type { DesiredConfig, OtaJob, TrustSet } from '@outpost/protocol';
import { loadTrustSet, saveTrustSet } from '../identity/state-dir.js';
import type { StatePaths } from '../identity/state-dir.js';
import type { Outbox } from '../outbox/outbox-types.js';
import type { CommandExecutor } from './command-executor.js';
import { errorResult } from './command-rules.js';
import type { AgentLog, RuntimeState } from './agent-runtime.js';
import { decideTrustSet } from './trust-rules.js';

export interface InboundDeps {
  readonly deviceId: string;
  readonly paths: StatePaths;
  readonly log: AgentLog;
  readonly now: () => number;
  readonly state: RuntimeState;
  readonly outbox: Pick<Outbox, 'refuse' | 'stats'>;
  /** A refusal the outbox could not count (the PUBACK came first and the entry had left). */
  onLateRefusal(): void;
  readonly commands: CommandExecutor;
  applyDesired(desired: DesiredConfig): Promise<{ ok: true } | { ok: false; code: string; reason: string }>;
  report(kind: string, topic: string, payload: string): void;
  noteError(code: string, message: string): void;
  /** A validated OtaJob (handled one at a time, in arrival order). */
  onOtaJob?(job: OtaJob): Promise<void>;
}

export interface InboundHandler {
  handle(topic: string, payload: Buffer): Promise<void>;
}

/** The `version` (or `id`) of a payload that failed its schema, when it has a usable one. */
function field(payload: Buffer, name: string): unknown {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    return typeof parsed === 'object' && parsed !== null ? parsed[name] : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `task` once `previous` settled, whether it failed or not (its failure was handled by its own caller). */
function serially(previous: Promise<void>, task: () => Promise<void>): Promise<void> {
  return previous.catch(() => undefined).then(task);
}

export function createInboundHandler(deps: InboundDeps): InboundHandler {
  const { deviceId, log, state } = deps;
  let lastDesired: string | undefined;
  const refusals = new Map<number, { code: string; message: string }>();
  let trustChain: Promise<void> = Promise.resolve();
  let configChain: Promise<void> = Promise.resolve();
  let otaChain: Promise<void> = Promise.resolve();

  function reportConfig(version: number, error?: { code: string; message: string }): void {
    const body = error === undefined ? { v: 1 as const, version, applied: true, at: deps.now() } : { v: 1 as const, version, applied: false, error, at: deps.now() };
    deps.report('reported-config', topics.configReported(deviceId), encodePayload('ReportedConfig', body));
  }

  async function onDesired(payload: Buffer): Promise<void> {
    const decoded = decodePayload('DesiredConfig', payload);
    if (!decoded.ok) {
      const version = field(payload, 'version');
      const message = `desired config refused: ${decoded.reason}`;
      log.warn({ reason: decoded.reason }, 'desired config refused; keeping the current one');
      deps.noteError('CONFIG_INVALID', message);
      if (Number.isSafeInteger(version) && (version as number) >= 0) reportConfig(version as number, { code: 'CONFIG_INVALID', message });
      return;
    }
    const desired = decoded.value;
    const text = canonicalJson(desired);
    const runningVersion = state.config.origin === 'desired' ? state.config.version : undefined;
    if (text === lastDesired || (lastDesired === undefined && runningVersion === desired.version)) {
      // The retained config again (a reconnect, a restart): say again what became of it.
      lastDesired = text;
      const refusal = refusals.get(desired.version);
      reportConfig(desired.version, runningVersion === desired.version ? undefined : refusal);
      return;
    }
    lastDesired = text;
    const result = await deps.applyDesired(desired);
    if (result.ok) {
      log.info({ version: desired.version }, 'desired config applied');
      refusals.delete(desired.version);
      reportConfig(desired.version);
    } else {
      log.warn({ version: desired.version, code: result.code, reason: result.reason }, 'desired config refused; keeping the current one');
      deps.noteError(result.code, result.reason);
      const error = { code: result.code, message: result.reason.slice(0, 1024) };
      refusals.set(desired.version, error);
      reportConfig(desired.version, error);
    }
  }

  async function onCommand(payload: Buffer): Promise<void> {
    const decoded = decodePayload('Command', payload);
    if (!decoded.ok) {
      const id = field(payload, 'id');
      log.warn({ reason: decoded.reason }, 'command refused');
      if (typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(id)) {
        deps.report('command-result', topics.commandResult(deviceId), encodePayload('CommandResult', errorResult(id, 'COMMAND_INVALID', decoded.reason, deps.now())));
      }
      return;
    }
    const command = decoded.value;
    const outcome = await deps.commands.execute(command);
    log.info({ id: command.id, name: command.name, ok: outcome.result.ok, error: outcome.result.error?.code }, 'command handled');
    deps.report('command-result', topics.commandResult(deviceId), encodePayload('CommandResult', outcome.result));
    if (outcome.after !== undefined) await outcome.after();
  }

  async function onTrust(payload: Buffer): Promise<void> {
    const decoded = decodePayload('TrustSet', payload);
    if (!decoded.ok) {
      log.warn({ reason: decoded.reason }, 'trust set refused: malformed; keeping the current one');
      deps.noteError('TRUST_INVALID', decoded.reason);
      return;
    }
    const incoming: TrustSet = decoded.value;
    const current = await loadTrustSet(deps.paths);
    const decision = decideTrustSet(current, incoming);
    if (decision.accept) {
      await saveTrustSet(deps.paths, incoming);
      state.trustVersion = incoming.version;
      log.info({ version: incoming.version, keys: incoming.keys.map((k) => k.keyId), why: decision.why }, 'trust set accepted');
    } else if (!decision.same) {
      log.warn({ version: incoming.version, held: current?.version, code: decision.code, reason: decision.reason }, 'trust set refused; keeping the current one');
      deps.noteError(decision.code, decision.reason);
    }
  }

  async function onOtaJob(payload: Buffer): Promise<void> {
    const decoded = decodePayload('OtaJob', payload);
    if (!decoded.ok) {
      const jobId = field(payload, 'jobId');
      log.warn({ reason: decoded.reason }, 'OTA job refused: malformed');
      deps.noteError('OTA_JOB_INVALID', decoded.reason);
      if (typeof jobId === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(jobId)) {
        const error = { code: 'OTA_JOB_INVALID', message: `OTA job refused: ${decoded.reason}`.slice(0, 1024) };
        deps.report('ota-progress', topics.otaProgress(deviceId), encodePayload('OtaProgress', { v: 1, jobId, state: 'failed', error, at: deps.now() }));
      }
      return;
    }
    if (deps.onOtaJob === undefined) {
      log.warn({ jobId: decoded.value.jobId }, 'OTA job ignored: OTA is not running');
      return;
    }
    await deps.onOtaJob(decoded.value);
  }

  async function onPublishError(payload: Buffer): Promise<void> {
    const decoded = decodePayload('PublishError', payload);
    if (!decoded.ok) {
      log.warn({ reason: decoded.reason }, 'unreadable PublishError ignored');
      return;
    }
    const error = decoded.value;
    log.warn({ topic: error.topic, seq: error.seq, code: error.code, reason: error.reason }, 'the platform refused a publish for good');
    deps.noteError(error.code, error.reason);
    if (error.seq !== undefined && error.topic === topics.telemetry(deviceId)) {
      // The broker acknowledges a refused batch too: when its PUBACK came first the entry already left
      // the outbox and refuse() is a no-op there, so the refusal is counted here for DeviceStatus.
      const before = deps.outbox.stats().refused;
      await deps.outbox.refuse(error.seq, `${error.code}: ${error.reason}`);
      if (deps.outbox.stats().refused === before) deps.onLateRefusal();
    }
  }

  return {
    async handle(topic, payload): Promise<void> {
      const parsed = parseTopic(topic);
      if (!parsed.ok || parsed.value.scope !== 'device' || parsed.value.deviceId !== deviceId) {
        log.warn({ topic }, 'message on an unexpected topic ignored');
        return;
      }
      try {
        switch (parsed.value.kind) {
          case 'configDesired':
            configChain = serially(configChain, () => onDesired(payload));
            await configChain;
            return;
          case 'commands':
            await onCommand(payload);
            return;
          case 'trust':
            trustChain = serially(trustChain, () => onTrust(payload));
            await trustChain;
            return;
          case 'errors':
            await onPublishError(payload);
            return;
          case 'otaJob':
            // After the TrustSet that arrived before it (both retained, delivered together on connect):
            // the job's signature is checked against the keys that set brings.
            otaChain = serially(otaChain, async () => {
              await trustChain.catch(() => undefined);
              await onOtaJob(payload);
            });
            await otaChain;
            return;
          default:
            log.debug({ topic }, 'no handler for this topic');
        }
      } catch (err) {
        log.error({ topic, err: (err as Error).message }, 'handling a message failed');
        deps.noteError('AGENT_HANDLER_FAILED', (err as Error).message);
      }
    },
  };
}
