/**
 * The alert engine (ARCHITECTURE step 4): reads accepted telemetry from the ingest spool
 * (consumer `alerts`), takes each batch typed as the publish hook validated it (decode once:
 * the broker's `telemetryRecords` port, no second check that could judge differently), turns every metric of every
 * sample into a RuleSample (`arrivedAt` = the broker's `receivedAt`), evaluates the rule set
 * with the shared operators (scoped per rule), hands the transitions to the lifecycle and only
 * then commits the spool cursor — so a crash re-reads what was not fully handled (a repeated
 * firing finds its alert open and is not stored twice). It reads a batch once the spool has
 * written it, not after its fsync (issue 12: the disk's fsync was most of an alert's tail
 * latency); the cursor follows only durable records. EdgeAlerts from devices join the same
 * lifecycle, marked `source: 'edge'`.
 *
 * Absence rules must know devices that stay silent from the start. The engine remembers every
 * device it ever heard from (`alerts_known_devices`) and, for each absence rule, expects the
 * known devices in its scope, the devices its scope lists that the registry knows, and (when the
 * registry port can list devices) every registered device of its groups/tags — timed
 * from when the rule starts (engine start, or the rule's creation/change). A device that is no
 * longer active (suspended, revoked, deleted) never fires an absence alert.
 */
import type { IngestSpool, InboxMessage, TelemetryRecordsPort } from '@outpost/kernel';
import type { SpoolEntry } from '@outpost/telemetry';
import type { EdgeAlert, Rule } from '@outpost/protocol';
import { evaluateRules, type RuleSample, type RuleTransition } from '@outpost/rules';
import { concatMap, defer, from, retry, Subject, timer, type BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import type { AlertsMetrics } from '../adapters/alerts-metrics.js';
import type { KnownDeviceStore } from '../adapters/known-device-store.js';
import type { AlertLifecycle, Transition } from './alert-lifecycle.js';
import { needsRegistry, type ScopeResolver } from './scope-resolver.js';


export const SPOOL_CONSUMER = 'alerts';

export interface EngineLog {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface AlertEngineDeps {
  readonly spool: IngestSpool;
  /** The spool's records, typed and trusted (decoded once, by the publish hook; the broker's `telemetryRecords` port). */
  readonly records: TelemetryRecordsPort;
  readonly edgeAlerts: Observable<InboxMessage<EdgeAlert>>;
  readonly rules$: BehaviorSubject<readonly Rule[]>;
  readonly scope: ScopeResolver;
  readonly lifecycle: AlertLifecycle;
  readonly knownDevices: KnownDeviceStore;
  readonly metrics: AlertsMetrics;
  readonly log: EngineLog;
  readonly now: () => number;
  /**
   * False on cluster nodes (ADR 0013): the spool's alerts cursor belongs to the forwarder and the
   * rules run in the partition evaluator, which hands its transitions to `applyTransitions`.
   */
  readonly readSpool?: boolean;
  readonly options: {
    readonly latenessMs: number;
    readonly spoolMaxRecords: number;
    readonly spoolMaxWaitMs: number;
    /** Read batches once written, before their fsync (SpoolReadOptions.written). */
    readonly spoolReadsWritten: boolean;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly knownDeviceWriteMs: number;
  };
}

export class AlertEngine {
  readonly #deps: AlertEngineDeps;
  readonly #records: TelemetryRecordsPort;
  readonly #subscriptions: Subscription[] = [];
  /** Known devices → when their last-seen time was last written. */
  readonly #known = new Map<string, number>();
  /** Registered devices in the scope of each absence rule (when the registry can list them). */
  readonly #registered = new Map<string, readonly string[]>();
  #collecting: RuleTransition[] | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  /** The spool cursor commits in flight (each after its batch's transitions are stored). */
  #commits: Promise<unknown> = Promise.resolve();
  #closed = false;
  #newestArrival: number | undefined;
  #processedBatches = 0;
  /** Evaluations not yet added to the counter (one inc per batch, not per evaluation). */
  #evaluations = 0;

  constructor(deps: AlertEngineDeps) {
    this.#deps = deps;
    this.#records = deps.records;
  }

  /** Newest arrival time evaluated, for the lag metric. */
  get newestArrival(): number | undefined {
    return this.#newestArrival;
  }

  get processedBatches(): number {
    return this.#processedBatches;
  }

  /** Devices an absence rule expects: known devices in its scope, and those its scope names. */
  expectedDevices(rule: Rule): string[] {
    const { scope } = this.#deps;
    const candidates = new Set([...this.#known.keys(), ...(rule.scope.devices ?? []), ...(this.#registered.get(rule.id) ?? [])]);
    return [...candidates].filter((id) => scope.cached(id)?.status === 'active' && scope.inScope(rule, id));
  }

  /** Registry answers for every device `expectedDevices` or the scopes may ask about. */
  async prefetchFor(rules: readonly Rule[]): Promise<void> {
    const ids = new Set<string>(this.#known.keys());
    for (const rule of rules) {
      for (const id of rule.scope.devices ?? []) ids.add(id);
      if (rule.kind !== 'absence' || !rule.enabled) continue;
      const registered = await this.#deps.scope.registeredDevices(rule.scope);
      if (registered === undefined) continue;
      this.#registered.set(rule.id, registered);
      for (const id of registered) ids.add(id);
    }
    await this.#deps.scope.prefetch(ids);
  }

  async start(): Promise<void> {
    this.#closed = false;
    const { deps } = { deps: this.#deps };
    for (const id of await deps.knownDevices.all()) this.#known.set(id, 0);
    await this.prefetchFor(deps.rules$.value);
    const samples = new Subject<RuleSample>();
    // Cluster nodes (ADR 0013): the rules run in the partition evaluator only — a pipeline here
    // would time every expected device's silence without ever hearing from it.
    if (deps.readSpool !== false) this.#subscriptions.push(
      samples
        .pipe(
          evaluateRules(deps.rules$, {
            latenessMs: deps.options.latenessMs,
            now: deps.now,
            inScope: (rule, deviceId) => deps.scope.inScope(rule, deviceId),
            expectedDevices: (rule) => this.expectedDevices(rule),
            onEvaluate: () => {
              this.#evaluations++;
            },
          }),
        )
        .subscribe({
          next: (transition) => {
            if (this.#collecting !== undefined) this.#collecting.push(transition);
            else void this.#enqueue(() => this.#applyAll([transition]));
          },
          error: (err: unknown) => deps.log.error({ err }, 'alerts: the rule evaluation failed'),
        }),
    );
    if (deps.readSpool !== false) this.#subscriptions.push(
      deps.spool
        .readBatches(SPOOL_CONSUMER, {
          maxRecords: deps.options.spoolMaxRecords,
          maxWaitMs: deps.options.spoolMaxWaitMs,
          written: deps.options.spoolReadsWritten,
        })
        .pipe(
          concatMap((batch) => defer(() => from(this.#process(batch, samples)))),
          retry({
            delay: (err: unknown, count) => {
              deps.metrics.engineErrors.inc();
              deps.log.error({ err, count }, 'alerts: reading the ingest spool failed; retrying');
              return timer(Math.min(deps.options.retryMaxMs, deps.options.retryBaseMs * 2 ** Math.min(count, 16)));
            },
          }),
        )
        .subscribe({ error: (err: unknown) => deps.log.error({ err }, 'alerts: the spool reader stopped') }),
    );
    this.#subscriptions.push(
      deps.edgeAlerts.subscribe((message) => {
        const { payload, deviceId, receivedAt } = message;
        const transition: Transition = {
          ruleId: payload.ruleId,
          deviceId,
          state: payload.state,
          value: payload.value,
          ts: payload.ts,
          severity: payload.severity,
          late: payload.late === true || receivedAt - payload.ts > deps.options.latenessMs,
          source: 'edge',
        };
        void this.#enqueue(() => this.#applyWithRetry([transition]));
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
    await this.idle();
  }

  /** Resolves when every transition handed over so far is handled. */
  async idle(): Promise<void> {
    let serial: Promise<unknown>;
    let commits: Promise<unknown>;
    do {
      serial = this.#serial;
      commits = this.#commits;
      await serial;
      await commits;
    } while (serial !== this.#serial || commits !== this.#commits);
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#serial.then(work, work);
    this.#serial = next.catch(() => undefined);
    return next;
  }

  async #process(batch: readonly SpoolEntry[], samples: Subject<RuleSample>): Promise<void> {
    const { deps } = { deps: this.#deps };
    // Typed and trusted: the publish hook validated each batch once (no second decode here).
    const { records, unreadable } = this.#records.recordsOf(batch);
    for (const bad of unreadable) {
      deps.metrics.undecodable.inc();
      deps.log.warn({ seq: bad.seq, deviceId: bad.deviceId, reason: bad.reason }, 'alerts: a spool record could not be read; skipped');
    }
    // With no enabled rule nothing is evaluated: the samples are counted, not built (issue 12).
    const evaluating = deps.rules$.value.some((rule) => rule.enabled);
    const seen = records.map((entry) => [entry.deviceId, entry.receivedAt] as const);
    if (evaluating && deps.rules$.value.some((rule) => rule.enabled && needsRegistry(rule.scope))) {
      await this.#withRetry(() => deps.scope.prefetch(new Set(seen.map(([deviceId]) => deviceId))), 'looking devices up in the registry');
    }
    // Stored in order with the transitions; the evaluation only needs the in-memory set.
    void this.#enqueue(() => this.#remember(seen));
    const collected: RuleTransition[] = [];
    let count = 0;
    const evaluationStarted = performance.now();
    this.#collecting = collected;
    try {
      // Each sample goes straight into the rules as it is read (issue 12: no per-record arrays).
      for (const entry of records) {
        const { deviceId, receivedAt } = entry;
        for (const sample of entry.batch.samples) {
          const { ts } = sample;
          for (const metric in sample.metrics) {
            const value = sample.metrics[metric];
            if (value === undefined) continue;
            count += 1;
            if (evaluating) samples.next({ deviceId, metric, value, ts, arrivedAt: receivedAt });
          }
        }
      }
    } finally {
      this.#collecting = undefined;
      if (count > 0) deps.metrics.samples.inc(count);
      if (this.#evaluations > 0) deps.metrics.evaluations.inc(this.#evaluations);
      this.#evaluations = 0;
    }
    if (evaluating && count > 0) deps.metrics.readSeconds.observe({ stage: 'evaluate' }, (performance.now() - evaluationStarted) / 1000);
    // The next batch is evaluated while these transitions are stored and the cursor is fsynced
    // (issue 12: a probe's alert no longer queues behind the previous batch's cursor file). The
    // cursor still moves only past batches whose transitions are stored (the serial chain runs
    // in spool order), and the spool's maxUncommitted bounds what waits here.
    const applied = this.#enqueue(() => this.#storeRead(collected));
    const last = batch[batch.length - 1];
    if (last !== undefined) {
      this.#newestArrival = Math.max(this.#newestArrival ?? 0, last.receivedAt);
      // Commits are made in spool order (the serial chain resolves in order); none waits for the
      // previous one's cursor file, which the spool writes at most every cursorSyncMs.
      const committed = applied
        .then(() => this.#withRetry(() => deps.spool.commit(SPOOL_CONSUMER, last.seq), 'committing the spool cursor'))
        .catch((err: unknown) => deps.log.error({ err }, 'alerts: committing the spool cursor failed; the spool will replay it'));
      this.#commits = Promise.all([this.#commits, committed]);
    }
    this.#processedBatches++;
  }

  /** A read's transitions, stored; timed when there are any (`outpost_alert_read_duration_seconds{stage="store"}`). */
  async #storeRead(transitions: readonly RuleTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    const started = performance.now();
    await this.#applyAll(transitions);
    this.#deps.metrics.readSeconds.observe({ stage: 'store' }, (performance.now() - started) / 1000);
  }

  async #remember(entries: readonly (readonly [string, number])[]): Promise<void> {
    const writes: [string, number][] = [];
    for (const [deviceId, at] of entries) {
      const written = this.#known.get(deviceId);
      if (written === undefined || at - written >= this.#deps.options.knownDeviceWriteMs) {
        this.#known.set(deviceId, at);
        writes.push([deviceId, at]);
      }
    }
    if (writes.length > 0) await this.#withRetry(() => this.#deps.knownDevices.seen(writes), 'remembering devices');
  }

  /** Cluster evaluator (ADR 0013): remembers devices heard from (stored in order with the transitions). */
  noteSeen(entries: readonly (readonly [string, number])[]): void {
    void this.#enqueue(() => this.#remember(entries));
  }

  /** Cluster evaluator (ADR 0013): devices other nodes remembered since start become known here too. */
  async refreshKnown(): Promise<void> {
    for (const id of await this.#deps.knownDevices.all()) if (!this.#known.has(id)) this.#known.set(id, 0);
  }

  /** Cluster evaluator (ADR 0013): stores rule transitions in order; resolves once stored, false when the engine closed first. */
  async applyTransitions(transitions: readonly RuleTransition[]): Promise<boolean> {
    if (transitions.length > 0) await this.#enqueue(() => this.#applyAll(transitions));
    return !this.#closed;
  }

  /** A device was deleted: it is no longer expected by absence rules. */
  async forget(deviceId: string): Promise<void> {
    this.#known.delete(deviceId);
    await this.#deps.knownDevices.forget(deviceId);
  }

  async #applyAll(transitions: readonly RuleTransition[]): Promise<void> {
    const list: Transition[] = [];
    for (const t of transitions) {
      if (t.value === null && t.state === 'firing' && this.#isAbsence(t.ruleId)) {
        const device = await this.#deps.scope.lookup(t.deviceId).catch(() => undefined);
        if (device !== undefined && device?.status !== 'active') {
          this.#deps.metrics.transitions.inc({ state: t.state, source: 'platform', outcome: 'inactive-device' });
          this.#deps.log.debug({ ruleId: t.ruleId, deviceId: t.deviceId }, 'alerts: absence of a device that is not active; no alert');
          continue;
        }
      }
      list.push({ ruleId: t.ruleId, deviceId: t.deviceId, state: t.state, value: t.value, ts: t.ts, severity: t.severity, late: t.late, source: 'platform' });
    }
    await this.#applyWithRetry(list);
  }

  #isAbsence(ruleId: string): boolean {
    return this.#deps.rules$.value.find((r) => r.id === ruleId)?.kind === 'absence';
  }

  async #applyWithRetry(transitions: readonly Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    // One transaction for the batch's transitions (open alerts are kept in memory by the lifecycle).
    await this.#withRetry(() => this.#deps.lifecycle.applyAll(transitions), 'storing alert transitions');
  }

  /** Retries a step of the pipeline with backoff until it works or the engine closes (nothing is dropped). */
  async #withRetry<T>(work: () => Promise<T>, what: string): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        this.#deps.metrics.engineErrors.inc();
        if (this.#closed) {
          this.#deps.log.error({ err }, `alerts: ${what} failed while closing; the spool will replay it`);
          return undefined;
        }
        const delay = Math.min(this.#deps.options.retryMaxMs, this.#deps.options.retryBaseMs * 2 ** Math.min(attempt - 1, 16));
        this.#deps.log.error({ err, attempt, retryInMs: delay }, `alerts: ${what} failed; retrying`);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }
}
