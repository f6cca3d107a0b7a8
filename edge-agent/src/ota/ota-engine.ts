/**
 * The agent's OTA state machine (SPEC "OTA", issue 13 item 4). A job moves
 * queued → downloading → verifying → installing → activating → health-checking → succeeded,
 * or ends failed / rolled-back; every step is saved (ota-store.ts) before it is taken, so a
 * restart or a power cut resumes where it stopped:
 *   - queued, downloading: checks again, downloads on from the last verified chunk (Range);
 *   - installing: verifies the staged file again and installs again (a script is never re-run:
 *     it failed with OTA_INTERRUPTED);
 *   - archive after activation, before its health check passed: rolled back (OTA_INTERRUPTED);
 *   - agent after activation: the new version confirms on its first CONNACK plus the health
 *     check. With no CONNACK by confirmDeadlineS after the switch, the MQTT link's attempts
 *     (mqtt-link.ts ConnectFailure) decide why:
 *       · one reached the broker (TCP + TLS handshake done) and got no session (refused, closed,
 *         no CONNACK): this version cannot talk to the platform → it switches back and exits;
 *       · none reached it (refused, timed out, DNS, unreachable) or the broker answered CONNACK 3
 *         "server unavailable" (the platform's registry is down): the server is down, not this
 *         version → its health check runs and, when it passes, the update is committed locally
 *         (the launcher's boot count reset as a CONNACK would) and `succeeded` is reported once
 *         the broker is back;
 *       · no attempt ended yet: the decision waits for one, at most confirmGraceMs more, then a
 *         version that never tried is switched back.
 *     A version that crashes is rolled back by the launcher (STATE/rollback), which the old
 *     version reports.
 *   - a job that arrives while the device trusts no key yet stays queued until a TrustSet comes.
 * The outcome is committed locally first and reported when the broker takes it (the PUBACK
 * marks it reported); an unreachable server never rolls anything back.
 */
import { rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/protocol';
import type { FirmwareInfo, Manifest, OtaJob, OtaProgress, OtaState, TrustSet } from '@outpost/protocol';
import { readTextIfExists, writeFileAtomic } from '../identity/atomic-file.js';
import type { DeviceIdentity } from '../identity/state-dir.js';
import type { ConnectFailure } from '../connection/mqtt-link.js';
import { downloadArtifact } from './download.js';
import type { DownloadRetry } from './download.js';
import { installAgent, switchAgent } from './agent-slots.js';
import type { AgentSlotMode, AgentSlotsOptions } from './agent-slots.js';
import { runActivate, runHealthCheck, runScript } from './install-steps.js';
import { checkJob } from './job-checks.js';
import type { InstalledVersion } from './job-checks.js';
import { currentSlot, extractIntoSlot, otherSlot, switchCurrent } from './slots.js';
import { verifyStagedFile } from './staged-file.js';
import { createOtaStore } from './ota-store.js';
import type { InstalledEntry, OtaOutcome, OtaPhase, OtaRecord } from './ota-store.js';

export interface OtaLog {
  debug(o: object, m: string): void;
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

export interface OtaOptions {
  readonly retry: DownloadRetry;
  /** Free bytes that must remain beyond the artifact and room to unpack it. */
  readonly minFreeBytes: number;
  /** Downloading progress at most every `percentStep` % or `intervalMs`. */
  readonly progressPercentStep: number;
  readonly progressIntervalMs: number;
  /** Bound of an extraction, and of a script without activate.timeoutS. */
  readonly installTimeoutMs: number;
  /** Agent self-updates: write the slots directly, through the root helper, or whichever works (agent-slots.ts). */
  readonly agentSlots: AgentSlotMode;
  readonly helperWaitMs: number;
  /** How often a job that arrived before any TrustSet looks again for one. */
  readonly trustPollMs: number;
  /**
   * Past confirmDeadlineS, how long a new agent version may still take to end one connection
   * attempt (either way) before it counts as never trying: then it is rolled back.
   */
  readonly confirmGraceMs: number;
}

export const OTA_DEFAULTS: OtaOptions = Object.freeze({
  retry: Object.freeze({ minMs: 1_000, maxMs: 60_000, attempts: 20 }),
  minFreeBytes: 16 * 1024 * 1024,
  progressPercentStep: 5,
  progressIntervalMs: 2_000,
  installTimeoutMs: 600_000,
  agentSlots: 'auto',
  helperWaitMs: 120_000,
  trustPollMs: 1_000,
  confirmGraceMs: 120_000,
});

export interface OtaEngineDeps {
  readonly stateDir: string;
  readonly agentVersion: string;
  /** The agent's install root (slots a/b, `current`, launcher.sh); undefined: agent self-updates are refused. */
  readonly agentHome: string | undefined;
  readonly hardware: readonly string[];
  identity(): DeviceIdentity;
  trust(): Promise<TrustSet | undefined>;
  readonly log: OtaLog;
  readonly now: () => number;
  /** Sends an OtaProgress (QoS 1, in order, kept while offline); `onSent` runs on its PUBACK. */
  report(progress: OtaProgress, onSent?: () => void): void;
  /** Stop and exit, so the launcher starts the agent again (self-update, rollback). */
  requestRestart(): void;
  readonly options?: Partial<OtaOptions>;
}

/** The job in hand, for status.json and `outpost-agent status`. */
export interface OtaSummary {
  readonly jobId: string;
  readonly name: string;
  readonly version: string;
  readonly phase: OtaPhase;
  readonly outcome?: OtaOutcome['state'];
  readonly error?: { readonly code: string; readonly message: string };
}

export interface OtaEngine {
  /** Resumes what the state dir holds; call before the MQTT link starts. */
  start(): Promise<void>;
  /** A validated OtaJob (retained: it comes again on every connection). */
  onJob(job: OtaJob): Promise<void>;
  /** The broker accepted the connection (CONNACK). */
  onConnected(): void;
  /** A connection attempt ended without a session (mqtt-link.ts says whether it reached the broker). */
  onConnectFailed(failure: ConnectFailure): void;
  /**
   * True while an agent self-update runs on trial (activated, not yet confirmed or rolled back):
   * then only the engine's confirm decision may tell the launcher this version is healthy.
   */
  agentTrialPending(): boolean;
  /** What DeviceStatus reports as `firmware`. */
  firmware(): FirmwareInfo | undefined;
  /** For status.json / `outpost-agent status`. */
  summary(): OtaSummary | undefined;
  close(): Promise<void>;
}

/** Why a running job was stopped (the abort reason its steps throw). */
function stopReason(code: 'OTA_JOB_CANCELLED' | 'OTA_JOB_SUPERSEDED' | 'AGENT_STOPPING', message: string): OutpostError {
  return new OutpostError(code, message);
}

/** MQTT 3.1.1 CONNACK return code "server unavailable". */
const CONNACK_SERVER_UNAVAILABLE = 3;

const BEFORE_ACTIVATION: readonly OtaPhase[] = ['queued', 'downloading', 'installing'];

export function createOtaEngine(deps: OtaEngineDeps): OtaEngine {
  const options: OtaOptions = { ...OTA_DEFAULTS, ...deps.options };
  const { log, now } = deps;
  const store = createOtaStore(deps.stateDir);
  const rollbackFile = join(deps.stateDir, 'rollback');
  const appsDir = join(deps.stateDir, 'apps');
  let record: OtaRecord | undefined;
  let running: { jobId: string; abort: AbortController; done: Promise<void> } | undefined;
  let next: OtaJob | undefined;
  let chain: Promise<void> = Promise.resolve();
  let connected = false;
  /** The first attempt of this run that reached the broker and got no session; the last one that never reached it. */
  let sessionFailure: ConnectFailure | undefined;
  let networkFailure: ConnectFailure | undefined;
  let wake: (() => void) | undefined;
  let closed = false;
  let firmware: FirmwareInfo | undefined;
  const timers = new Set<NodeJS.Timeout>();

  function serially(task: () => Promise<void>): Promise<void> {
    const run = chain.then(task);
    chain = run.catch((err: unknown) => log.error({ err: (err as Error).message }, 'OTA step failed'));
    return run;
  }

  function progress(jobId: string, state: OtaState, extra: Partial<Pick<OtaProgress, 'percent' | 'bytes' | 'error'>> = {}, onSent?: () => void): void {
    deps.report({ v: 1, jobId, state, ...extra, at: now() }, onSent);
  }

  async function save(next: OtaRecord): Promise<OtaRecord> {
    await store.writeRecord(next);
    record = next;
    return next;
  }

  function reportOutcome(rec: OtaRecord): void {
    const outcome = rec.outcome;
    if (outcome === undefined) return;
    progress(rec.job.jobId, outcome.state, outcome.error === undefined ? {} : { error: outcome.error }, () => {
      void serially(async () => {
        if (record?.job.jobId === rec.job.jobId && record.reported !== true) await save({ ...record, reported: true });
      });
    });
  }

  /** Commits the outcome locally (record, staging cleaned), then reports it. */
  async function finish(rec: OtaRecord, state: OtaOutcome['state'], error?: { code: string; message: string }): Promise<void> {
    const outcome: OtaOutcome = error === undefined ? { state, at: now() } : { state, error: { code: error.code, message: error.message.slice(0, 1024) }, at: now() };
    const done = await save({ ...rec, phase: 'done', outcome, reported: false });
    await store.cleanStaging().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot clean the OTA staging dir'));
    log[state === 'succeeded' ? 'info' : 'warn']({ jobId: rec.job.jobId, name: rec.job.manifest.name, version: rec.job.manifest.version, state, code: error?.code, reason: error?.message }, `OTA job ${state}`);
    reportOutcome(done);
  }

  function installedFor(manifest: Manifest, entries: Readonly<Record<string, InstalledEntry>>): InstalledVersion | undefined {
    const entry = entries[manifest.name];
    if (manifest.type === 'agent') return { version: deps.agentVersion, ...(entry?.securityVersion === undefined ? {} : { securityVersion: entry.securityVersion }) };
    return entry === undefined ? undefined : { version: entry.version, ...(entry.securityVersion === undefined ? {} : { securityVersion: entry.securityVersion }) };
  }

  async function refreshFirmware(): Promise<void> {
    const installed = await store.readInstalled();
    const last = installed.last === undefined ? undefined : installed.entries[installed.last];
    if (last?.slot !== undefined) {
      firmware = { name: last.name, version: last.type === 'agent' ? deps.agentVersion : last.version, slot: last.slot };
      return;
    }
    const slot = deps.agentHome === undefined ? undefined : await currentSlot(deps.agentHome).catch(() => undefined);
    firmware = slot === undefined ? undefined : { name: 'outpost-agent', version: deps.agentVersion, slot };
  }

  async function commit(rec: OtaRecord): Promise<void> {
    const m = rec.job.manifest;
    await store.writeInstalled({
      name: m.name,
      type: m.type,
      version: m.version,
      ...(m.securityVersion === undefined ? {} : { securityVersion: m.securityVersion }),
      ...(rec.targetSlot === undefined ? {} : { slot: rec.targetSlot }),
      ...(m.activate === undefined ? {} : { activate: m.activate }),
      jobId: rec.job.jobId,
      at: now(),
    });
    await refreshFirmware();
    await finish(rec, 'succeeded');
  }

  function throttle(jobId: string, size: number): (bytes: number) => void {
    let lastPercent = -Infinity;
    let lastAt = 0;
    return (bytes) => {
      const percent = size === 0 ? 100 : Math.floor((bytes * 100) / size);
      if (percent < lastPercent + options.progressPercentStep && now() - lastAt < options.progressIntervalMs && bytes < size) return;
      lastPercent = percent;
      lastAt = now();
      progress(jobId, 'downloading', { percent, bytes });
    };
  }

  async function checkDisk(manifest: Manifest, staged: number): Promise<void> {
    await store.cleanStaging(record?.job.jobId);
    const fs = await statfs(store.stagingDir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    // The rest of the download, room to unpack it (at least its size again), and the margin.
    const unpack = manifest.type === 'script' ? 0 : manifest.size;
    const needed = manifest.size - staged + unpack + options.minFreeBytes;
    if (free < needed) {
      throw new OutpostError('OTA_DISK_FULL', `${manifest.name} ${manifest.version} needs ${needed} free bytes (download, unpacking and a ${options.minFreeBytes}-byte margin); ${store.stagingDir} has ${free}: nothing downloaded`);
    }
  }

  function downloadUrl(job: OtaJob): URL {
    try {
      return new URL(job.url, deps.identity().deviceApiUrl);
    } catch (err) {
      throw new OutpostError('OTA_MANIFEST_INVALID', `the job's url ${job.url} cannot be resolved: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Switches the app back to the slot it ran before and runs that version's activate again. */
  async function rollbackApp(rec: OtaRecord, error: { code: string; message: string }): Promise<void> {
    const home = join(appsDir, rec.job.manifest.name);
    await switchCurrent(home, rec.previousSlot);
    const before = (await store.readInstalled()).entries[rec.job.manifest.name];
    if (before?.activate !== undefined && rec.previousSlot !== undefined) {
      const reactivated = await runActivate({ ...rec.job.manifest, activate: before.activate }, join(home, rec.previousSlot)).then(
        () => undefined,
        (err: unknown) => (err as Error).message,
      );
      if (reactivated !== undefined) log.warn({ reason: reactivated }, 'rolled back, but the previous version did not activate again');
    }
    await finish(rec, 'rolled-back', error);
  }

  function agentSlots(home: string, signal: AbortSignal): AgentSlotsOptions {
    return { home, stateDir: deps.stateDir, mode: options.agentSlots, helperWaitMs: options.helperWaitMs, installTimeoutMs: options.installTimeoutMs, signal };
  }

  /** The new agent version did not confirm: back to the previous slot, then exit so it starts. */
  async function rollbackAgent(rec: OtaRecord, error: { code: string; message: string }): Promise<void> {
    const home = deps.agentHome;
    if (home !== undefined && rec.previousSlot !== undefined) await switchAgent(agentSlots(home, new AbortController().signal), rec.previousSlot);
    await finish(rec, 'rolled-back', error);
    deps.requestRestart();
  }

  async function install(rec: OtaRecord, signal: AbortSignal): Promise<void> {
    const { job } = rec;
    const m = job.manifest;
    const staged = store.stagingFile(job.jobId);
    if (m.type === 'script') {
      const activating = await save({ ...rec, phase: 'activating', activatedAt: now() });
      progress(job.jobId, 'activating');
      await runScript(staged, store.dir, (m.activate?.timeoutS ?? 0) * 1000 || options.installTimeoutMs);
      const checking = await save({ ...activating, phase: 'health-checking' });
      progress(job.jobId, 'health-checking');
      await runHealthCheck(m, store.dir, signal);
      await commit(checking);
      return;
    }
    if (m.type === 'agent') {
      const home = deps.agentHome;
      if (home === undefined) throw new OutpostError('OTA_AGENT_HOME_UNKNOWN', 'this agent was not started from an install root with slots (--agent-home): it cannot update itself');
      const previous = await currentSlot(home);
      if (previous === undefined) throw new OutpostError('OTA_AGENT_HOME_UNKNOWN', `${home}/current names no slot: the agent cannot update itself here`);
      const target = otherSlot(previous);
      // The launcher's way (launcher.sh): switch, a clean boot count, no pending rollback report; then exit.
      await installAgent(agentSlots(home, signal), target, staged, m, async () => {
        await save({ ...rec, phase: 'activating', previousSlot: previous, targetSlot: target, activatedAt: now() });
        progress(job.jobId, 'activating');
      });
      log.info({ jobId: job.jobId, version: m.version, slot: target }, 'agent update activated: restarting into the new version');
      deps.requestRestart();
      return;
    }
    const home = join(appsDir, m.name);
    const previous = await currentSlot(home);
    const target = otherSlot(previous);
    await extractIntoSlot(home, target, staged, options.installTimeoutMs);
    if (signal.aborted) throw signal.reason;
    let active = await save({ ...rec, phase: 'activating', targetSlot: target, ...(previous === undefined ? {} : { previousSlot: previous }), activatedAt: now() });
    progress(job.jobId, 'activating');
    try {
      await switchCurrent(home, target);
      await runActivate(m, join(home, target));
      active = await save({ ...active, phase: 'health-checking' });
      progress(job.jobId, 'health-checking');
      await runHealthCheck(m, join(home, target), signal);
    } catch (err) {
      if ((err as OutpostError).code === 'AGENT_STOPPING') throw err;
      await rollbackApp(active, { code: (err as OutpostError).code ?? 'OTA_ACTIVATE_FAILED', message: (err as Error).message });
      return;
    }
    await commit(active);
  }

  /**
   * The TrustSet to verify a job with. A device that trusts no key yet (the job came before its
   * first TrustSet, or with it: both are retained) keeps the job queued — its record is on disk,
   * so a restart waits again — and goes on as soon as a TrustSet with a key is stored.
   */
  async function trustToVerify(job: OtaJob, signal: AbortSignal): Promise<TrustSet | undefined> {
    let trust = await deps.trust();
    if ((trust?.keys.length ?? 0) > 0) return trust;
    log.warn({ jobId: job.jobId }, 'no TrustSet yet: the job waits, queued, until one arrives');
    while ((trust?.keys.length ?? 0) === 0) {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason as Error);
        const stop = (): void => {
          clearTimeout(timer);
          timers.delete(timer);
          reject(signal.reason as Error);
        };
        const timer = setTimeout(() => {
          timers.delete(timer);
          signal.removeEventListener('abort', stop);
          resolve();
        }, options.trustPollMs);
        timers.add(timer);
        signal.addEventListener('abort', stop, { once: true });
      });
      trust = await deps.trust();
    }
    log.info({ jobId: job.jobId, trustVersion: trust?.version }, 'a TrustSet arrived: the job goes on');
    return trust;
  }

  /**
   * What the MQTT link says about the new agent version by its confirm deadline: connected (a
   * CONNACK); `session-failed` when an attempt reached the broker (TCP + TLS) and got no session
   * — this version cannot talk to the platform; `unreachable` when the attempts never reached it
   * — nothing to do with this version; `silent` when no attempt ended even confirmGraceMs later.
   */
  async function linkVerdict(deadline: number, signal: AbortSignal): Promise<{ kind: 'connected' | 'silent' } | { kind: 'session-failed' | 'unreachable'; failure: ConnectFailure }> {
    const giveUp = deadline + options.confirmGraceMs;
    for (;;) {
      if (connected) return { kind: 'connected' };
      const t = now();
      if (t >= deadline) {
        if (sessionFailure !== undefined) return { kind: 'session-failed', failure: sessionFailure };
        if (networkFailure !== undefined) return { kind: 'unreachable', failure: networkFailure };
        if (t >= giveUp) return { kind: 'silent' };
      }
      const waitMs = Math.max(0, (t < deadline ? deadline : giveUp) - t);
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason as Error);
        const done = (): void => {
          clearTimeout(timer);
          timers.delete(timer);
          signal.removeEventListener('abort', stop);
          wake = undefined;
          resolve();
        };
        const stop = (): void => {
          clearTimeout(timer);
          timers.delete(timer);
          wake = undefined;
          reject(signal.reason as Error);
        };
        const timer = setTimeout(done, waitMs);
        timers.add(timer);
        wake = done;
        signal.addEventListener('abort', stop, { once: true });
      });
    }
  }

  /** Runs a job from the phase its record holds (fresh: queued). */
  async function drive(start: OtaRecord, signal: AbortSignal): Promise<void> {
    let rec = start;
    const { job } = rec;
    const m = job.manifest;
    const staged = store.stagingFile(job.jobId);
    if (rec.phase === 'queued' || rec.phase === 'downloading') {
      const trust = await trustToVerify(job, signal);
      const installed = await store.readInstalled();
      const verdict = checkJob(job, { trust, hardware: deps.hardware, installed: installedFor(m, installed.entries), agentVersion: deps.agentVersion });
      if (!verdict.ok) {
        await finish(rec, 'failed', verdict);
        return;
      }
      if (verdict.sameVersion) {
        log.info({ jobId: job.jobId, name: m.name, version: m.version }, 'this version is installed already: nothing to do');
        await finish(rec, 'succeeded');
        return;
      }
      const url = downloadUrl(job);
      const { size: stagedBytes } = await stat(staged).catch(() => ({ size: 0 }));
      await checkDisk(m, Math.min(stagedBytes, m.size));
      rec = await save({ ...rec, phase: 'downloading' });
      const id = deps.identity();
      const result = await downloadArtifact({
        url,
        file: staged,
        manifest: m,
        tls: { ca: id.caPem, cert: id.certPem, key: id.keyPem },
        retry: options.retry,
        signal,
        onProgress: throttle(job.jobId, m.size),
        log,
      });
      log.info({ jobId: job.jobId, bytes: m.size, resumedFrom: result.resumedFrom, requests: result.requests }, 'artifact downloaded');
      progress(job.jobId, 'verifying', { percent: 100, bytes: m.size });
      await verifyStagedFile(staged, m);
      rec = await save({ ...rec, phase: 'installing' });
    } else if (rec.phase === 'installing') {
      if (m.type === 'script') {
        await finish(rec, 'failed', { code: 'OTA_INTERRUPTED', message: 'the agent stopped while the update script ran; a script is not run twice' });
        return;
      }
      progress(job.jobId, 'verifying', { percent: 100, bytes: m.size });
      await verifyStagedFile(staged, m);
    }
    if (signal.aborted) throw signal.reason;
    progress(job.jobId, 'installing');
    await install(rec, signal);
  }

  /** After a restart: an agent self-update waits for its confirmation (or reports the launcher's rollback). */
  async function confirmAgent(rec: OtaRecord, signal: AbortSignal): Promise<void> {
    const m = rec.job.manifest;
    const rolled = (await readTextIfExists(rollbackFile))?.trim();
    const slot = deps.agentHome === undefined ? undefined : await currentSlot(deps.agentHome);
    if (rolled !== undefined || deps.agentVersion !== m.version || slot !== rec.targetSlot) {
      const [from, to] = (rolled ?? '').split(/\s+/);
      const message =
        rolled !== undefined
          ? `version ${m.version} in slot ${from ?? '?'} did not become healthy; the launcher rolled back to slot ${to ?? '?'} (${deps.agentVersion})`
          : `version ${m.version} is not what runs (agent ${deps.agentVersion} in slot ${slot ?? 'none'}): it was rolled back`;
      await finish(rec, 'rolled-back', { code: 'OTA_CONFIRM_FAILED', message });
      await rm(rollbackFile, { force: true });
      return;
    }
    const deadline = (rec.activatedAt ?? rec.receivedAt) + rec.job.confirmDeadlineS * 1000;
    const confirming = rec.phase === 'confirming' ? rec : await save({ ...rec, phase: 'confirming' });
    const verdict = await linkVerdict(deadline, signal);
    const within = `within confirmDeadlineS (${rec.job.confirmDeadlineS} s) of its activation`;
    if (verdict.kind === 'silent') {
      await rollbackAgent(confirming, { code: 'OTA_CONFIRM_TIMEOUT', message: `version ${m.version} ended no connection attempt ${within} nor in the ${Math.round(options.confirmGraceMs / 1000)} s after` });
      return;
    }
    if (verdict.kind === 'session-failed') {
      await rollbackAgent(confirming, { code: 'OTA_CONFIRM_TIMEOUT', message: `version ${m.version} reached the broker but got no MQTT session ${within}: ${verdict.failure.reason}` });
      return;
    }
    const offline = verdict.kind === 'unreachable';
    if (offline) {
      log.warn({ jobId: rec.job.jobId, version: m.version, reason: verdict.failure.reason, code: verdict.failure.code }, 'the broker is unreachable at the confirm deadline: not this version\'s fault, so it is confirmed by its health check and reported later');
    }
    const checking = await save({ ...confirming, phase: 'health-checking' });
    progress(rec.job.jobId, 'health-checking');
    try {
      await runHealthCheck(m, join(deps.agentHome ?? deps.stateDir, rec.targetSlot ?? 'a'), signal);
    } catch (err) {
      if ((err as OutpostError).code === 'AGENT_STOPPING') throw err;
      await rollbackAgent(checking, { code: (err as OutpostError).code ?? 'OTA_HEALTH_CHECK_FAILED', message: (err as Error).message });
      return;
    }
    // Offline, the engine keeps the launcher's contract in the runtime's place: this start is healthy.
    if (offline) await writeFileAtomic(join(deps.stateDir, 'boot-attempts'), '0\n', 0o644);
    await commit(checking);
  }

  function execute(rec: OtaRecord, resume: (rec: OtaRecord, signal: AbortSignal) => Promise<void>): void {
    const abort = new AbortController();
    const jobId = rec.job.jobId;
    const done = (async () => {
      try {
        await resume(rec, abort.signal);
      } catch (err) {
        const code = (err as OutpostError).code;
        const current = record;
        if (code === 'AGENT_STOPPING' || current === undefined || current.job.jobId !== jobId || current.phase === 'done') return;
        const error = { code: typeof code === 'string' ? code : 'OTA_INTERNAL', message: (err as Error).message };
        if (current.job.manifest.type === 'archive' && (current.phase === 'activating' || current.phase === 'health-checking')) {
          await rollbackApp(current, error).catch((e: unknown) => log.error({ err: (e as Error).message }, 'rollback failed'));
        } else {
          await finish(current, 'failed', error).catch((e: unknown) => log.error({ err: (e as Error).message }, 'cannot record the OTA outcome'));
        }
      } finally {
        if (running?.jobId === jobId) running = undefined;
        const queued = next;
        next = undefined;
        if (queued !== undefined && !closed) void serially(() => accept(queued));
      }
    })();
    running = { jobId, abort, done };
  }

  async function begin(job: OtaJob): Promise<void> {
    const rec = await save({ v: 1, job, phase: 'queued', receivedAt: now() });
    log.info({ jobId: job.jobId, name: job.manifest.name, version: job.manifest.version, type: job.manifest.type }, 'OTA job received');
    progress(job.jobId, 'queued');
    execute(rec, drive);
  }

  async function accept(job: OtaJob): Promise<void> {
    if (closed) return;
    const current = record;
    if (current !== undefined && current.job.jobId === job.jobId) {
      if (current.phase === 'done') {
        reportOutcome(current); // the retained job again: say again what became of it
        return;
      }
      if (job.cancel === true) {
        if (BEFORE_ACTIVATION.includes(current.phase) && running?.jobId === job.jobId) {
          running.abort.abort(stopReason('OTA_JOB_CANCELLED', `job ${job.jobId} was cancelled before activation; its download was removed`));
          await running.done;
        } else {
          log.warn({ jobId: job.jobId, phase: current.phase }, 'cancel refused: the job was activated already and runs to its end');
        }
      }
      return;
    }
    if (job.cancel === true) {
      log.info({ jobId: job.jobId }, 'a cancelled job that never started here: nothing to do');
      return;
    }
    if (current !== undefined && current.phase !== 'done') {
      if ((current.phase === 'queued' || current.phase === 'downloading') && running !== undefined) {
        log.info({ jobId: current.job.jobId, by: job.jobId }, 'a new job supersedes the one not yet installed');
        const stopping = running;
        next = job;
        stopping.abort.abort(stopReason('OTA_JOB_SUPERSEDED', `job ${current.job.jobId} was superseded by job ${job.jobId} before it was installed`));
        return;
      }
      log.info({ jobId: current.job.jobId, waiting: job.jobId }, 'a job is being installed: the new one starts after it');
      next = job;
      return;
    }
    await begin(job);
  }

  /** What start() does with the record a previous run left. */
  async function resume(rec: OtaRecord): Promise<void> {
    const m = rec.job.manifest;
    if (rec.phase === 'done') {
      if (rec.reported !== true) reportOutcome(rec);
      return;
    }
    log.info({ jobId: rec.job.jobId, phase: rec.phase, type: m.type }, 'resuming the OTA job the last run left');
    if (BEFORE_ACTIVATION.includes(rec.phase)) {
      execute(rec, drive);
      return;
    }
    if (m.type === 'agent') {
      execute(rec, confirmAgent);
      return;
    }
    const error = { code: 'OTA_INTERRUPTED', message: `the agent stopped after activating ${m.name} ${m.version}, before its health check passed` };
    if (m.type === 'archive') await rollbackApp(rec, error);
    else await finish(rec, 'failed', error);
  }

  return {
    async start(): Promise<void> {
      await refreshFirmware().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot read what OTA installed'));
      let rec: OtaRecord | undefined;
      try {
        rec = await store.readRecord();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'the OTA job record is unreadable; it is set aside');
        await rm(join(store.dir, 'job.json'), { force: true });
      }
      record = rec;
      const keep = rec !== undefined && rec.phase !== 'done' ? rec.job.jobId : undefined;
      const removed = await store.cleanStaging(keep);
      if (removed.length > 0) log.info({ removed }, 'removed staging files of jobs that no longer run');
      if (rec === undefined || rec.phase === 'done' || rec.job.manifest.type !== 'agent') {
        const rolled = (await readTextIfExists(rollbackFile))?.trim();
        if (rolled !== undefined) {
          log.warn({ rollback: rolled }, 'the launcher rolled this agent back (no OTA job of this agent in hand)');
          await rm(rollbackFile, { force: true });
        }
      }
      if (rec !== undefined) await serially(() => resume(rec));
    },
    onJob(job) {
      return serially(() => accept(job));
    },
    onConnected() {
      connected = true;
      wake?.();
    },
    onConnectFailed(failure) {
      // CONNACK 3 (server unavailable: the platform's registry is down) is the server's trouble, not this version's.
      if (failure.reachedBroker && failure.code !== String(CONNACK_SERVER_UNAVAILABLE)) sessionFailure ??= failure;
      else networkFailure = failure;
      log.debug({ reachedBroker: failure.reachedBroker, reason: failure.reason, code: failure.code }, 'mqtt connection attempt failed');
      wake?.();
    },
    agentTrialPending() {
      const rec = record;
      return rec !== undefined && rec.job.manifest.type === 'agent' && (rec.phase === 'activating' || rec.phase === 'confirming' || rec.phase === 'health-checking');
    },
    firmware: () => firmware,
    summary() {
      const rec = record;
      if (rec === undefined) return undefined;
      const { jobId, manifest } = rec.job;
      const outcome = rec.outcome;
      return {
        jobId,
        name: manifest.name,
        version: manifest.version,
        phase: rec.phase,
        ...(outcome === undefined ? {} : { outcome: outcome.state }),
        ...(outcome?.error === undefined ? {} : { error: outcome.error }),
      };
    },
    async close(): Promise<void> {
      closed = true;
      for (const t of timers) clearTimeout(t);
      const active = running;
      if (active !== undefined) {
        active.abort.abort(stopReason('AGENT_STOPPING', 'the agent is stopping; the job resumes at the next start'));
        await Promise.race([active.done, new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
    },
  };
}
