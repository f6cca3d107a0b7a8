/**
 * Alerts evaluated exactly once across a cluster (issue 15 item 5, docs/adr/0013-alert-partitions.md).
 *
 * Broker nodes forward every durable telemetry record to one of P Redis streams chosen by a hash
 * of the device id (`ports.alertStream`). This evaluator runs on the nodes that evaluate (control,
 * or `all` with Redis): it owns a partition while it holds the lease `alerts-p<p>` and then runs
 * one rule pipeline for that partition only — the rule state of a device lives with its
 * partition's owner, whatever broker node the device is connected to, so a device moving between
 * broker nodes keeps its state and its transitions are decided once.
 *
 * Handover (a lease taken by another node, or an owner that died): the new owner
 *   1. reloads the open alerts (the lifecycle's memory) and the known devices from the database,
 *   2. warms the fresh pipeline up by replaying the partition's entries from `replayMs` ago up to
 *      the group's last delivered entry — entries the previous owner acknowledged are evaluated
 *      with their transitions dropped (they were stored), rebuilding windows, `forMs` periods and
 *      firing phases,
 *   3. re-evaluates the pending entries (delivered, not acknowledged) with their transitions kept,
 *   4. then reads new entries. Entries are acknowledged only after their transitions are stored.
 * A replayed transition is harmless: a firing while the alert is open is a duplicate the lifecycle
 * drops, a firing no later than the newest stored firing of (rule, device) is dropped here, a
 * resolve with nothing open is an orphan. Absence timers run only in the owner's pipeline, for
 * the devices of its partitions.
 */
import type { AlertStreamEntry, AlertStreamPort, Lease } from '@outpost/kernel';
import type { AlertEvent, Rule } from '@outpost/protocol';
import { evaluateRules, type RuleSample, type RuleTransition } from '@outpost/rules';
import { Subject, type BehaviorSubject, type Subscription } from 'rxjs';
import type { AlertsMetrics } from '../adapters/alerts-metrics.js';
import type { EngineLog } from './alert-engine.js';
import { needsRegistry, type ScopeResolver } from './scope-resolver.js';

export interface PartitionEvaluatorDeps {
  readonly stream: AlertStreamPort;
  /** The lease of partition `p` (`alerts-p<p>`). */
  readonly lease: (p: number) => Lease;
  readonly rules$: BehaviorSubject<readonly Rule[]>;
  readonly scope: ScopeResolver;
  /** The engine's side the evaluator uses (stores transitions, remembers devices, expected devices). */
  readonly engine: {
    expectedDevices(rule: Rule): string[];
    prefetchFor(rules: readonly Rule[]): Promise<void>;
    refreshKnown(): Promise<void>;
    noteSeen(entries: readonly (readonly [string, number])[]): void;
    applyTransitions(transitions: readonly RuleTransition[]): Promise<boolean>;
  };
  readonly refreshOpen: () => Promise<void>;
  /** Re-reads the rules other nodes may have changed (before a takeover, and every `ruleSyncMs`). */
  readonly reloadRules: () => Promise<unknown>;
  /** The open alerts of the platform's engine (seeds a fresh pipeline: ADR 0013) and the stored events after them. */
  readonly openAlerts: () => Promise<readonly { readonly ruleId: string; readonly deviceId: string; readonly source: string; readonly firedAt: number }[]>;
  readonly onEvent: (listener: (event: AlertEvent) => void) => () => void;
  /** Newest stored firing time of (rule, device) from the platform's engine. */
  readonly lastFiredAt: (ruleId: string, deviceId: string) => Promise<number | undefined>;
  readonly metrics: AlertsMetrics;
  readonly log: EngineLog;
  readonly now: () => number;
  readonly options: {
    readonly latenessMs: number;
    /** Entries per read. */
    readonly readCount: number;
    /** How long a read waits for new entries (also how soon a newly held partition is read). */
    readonly blockMs: number;
    /** How far back a new owner replays a partition to rebuild rule state. */
    readonly replayMs: number;
    /** How often the leases are looked at. */
    readonly checkMs: number;
    /** How often the stored rules are re-read (rules changed through another node's API). */
    readonly ruleSyncMs: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };
}

interface Owned {
  readonly p: number;
  readonly samples: Subject<RuleSample>;
  readonly subscription: Subscription;
  /** Transitions of the entries being fed right now (undefined: none being fed, timers' own). */
  collecting: RuleTransition[] | undefined;
  /** Reading (after warm-up). */
  live: boolean;
}

export class PartitionEvaluator {
  readonly #deps: PartitionEvaluatorDeps;
  readonly #owned = new Map<number, Owned>();
  #timer: NodeJS.Timeout | undefined;
  #ruleTimer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #changing: Promise<void> = Promise.resolve();
  #closed = false;
  #handled = 0;
  /** Open platform alerts (rule, device) → firing sample time: what a fresh pipeline starts from. */
  readonly #open = new Map<string, number>();
  #unlisten: (() => void) | undefined;

  constructor(deps: PartitionEvaluatorDeps) {
    this.#deps = deps;
  }

  /** The partitions this node evaluates now (tests, metrics). */
  get owned(): number[] {
    return [...this.#owned.values()].filter((o) => o.live).map((o) => o.p).sort((a, b) => a - b);
  }

  /** Stream entries evaluated and acknowledged since start. */
  get handled(): number {
    return this.#handled;
  }

  start(): void {
    this.#closed = false;
    this.#unlisten = this.#deps.onEvent((event) => {
      const key = openKey(event.ruleId, event.deviceId);
      if (event.state === 'firing') this.#open.set(key, event.ts);
      else this.#open.delete(key);
    });
    this.#check();
    this.#timer = setInterval(() => this.#check(), this.#deps.options.checkMs);
    this.#timer.unref();
    this.#ruleTimer = setInterval(() => {
      this.#changing = this.#changing.then(() => this.#deps.reloadRules()).then(
        () => undefined,
        (err: unknown) => this.#deps.log.error({ err }, 'alerts: re-reading the rules failed; trying again'),
      );
    }, this.#deps.options.ruleSyncMs);
    this.#ruleTimer.unref();
    this.#loop = this.#readLoop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#ruleTimer !== undefined) clearInterval(this.#ruleTimer);
    await this.#changing;
    await this.#loop;
    for (const p of [...this.#owned.keys()]) this.#drop(p);
    this.#unlisten?.();
  }

  #check(): void {
    if (this.#closed) return;
    this.#changing = this.#changing.then(async () => {
      for (let p = 0; p < this.#deps.stream.partitions; p++) {
        if (this.#closed) return;
        const held = this.#deps.lease(p).held();
        if (held && !this.#owned.has(p)) await this.#gain(p);
        else if (!held && this.#owned.has(p)) {
          this.#deps.log.info({ partition: p }, 'alerts: partition lease lost; no longer evaluated here');
          this.#drop(p);
        }
      }
    });
  }

  #drop(p: number): void {
    const owned = this.#owned.get(p);
    if (owned === undefined) return;
    this.#owned.delete(p);
    owned.subscription.unsubscribe();
    owned.samples.complete();
  }

  #mine(p: number): (rule: Rule) => string[] {
    return (rule) => this.#deps.engine.expectedDevices(rule).filter((id) => this.#deps.stream.partitionOf(id) === p);
  }

  async #gain(p: number): Promise<void> {
    const { deps } = { deps: this.#deps };
    const started = deps.now();
    try {
      await deps.reloadRules();
      await deps.refreshOpen();
      const open = await deps.openAlerts();
      for (const key of [...this.#open.keys()]) if (deps.stream.partitionOf(key.slice(key.indexOf('\u0000') + 1)) === p) this.#open.delete(key);
      for (const alert of open) if (alert.source === 'platform' && deps.stream.partitionOf(alert.deviceId) === p) this.#open.set(openKey(alert.ruleId, alert.deviceId), alert.firedAt);
      await deps.engine.refreshKnown();
      await deps.engine.prefetchFor(deps.rules$.value);
    } catch (err) {
      deps.log.error({ err, partition: p }, 'alerts: could not prepare a partition; trying again at the next check');
      return;
    }
    const samples = new Subject<RuleSample>();
    const owned: Owned = { p, samples, subscription: undefined as unknown as Subscription, collecting: undefined, live: false };
    (owned as { subscription: Subscription }).subscription = samples
      .pipe(
        evaluateRules(deps.rules$, {
          latenessMs: deps.options.latenessMs,
          now: deps.now,
          inScope: (rule, deviceId) => deps.scope.inScope(rule, deviceId),
          expectedDevices: this.#mine(p),
          // Alerts another owner left open: the fresh state starts firing, so the next clear sample resolves them.
          openSince: (rule, deviceId) => this.#open.get(openKey(rule.id, deviceId)),
        }),
      )
      .subscribe({
        next: (transition) => {
          if (owned.collecting !== undefined) owned.collecting.push(transition);
          // A timer's transition (absence): stored while this node still owns the partition.
          else if (this.#owned.get(p) === owned && deps.lease(p).held()) {
            deps.log.debug({ partition: p, ruleId: transition.ruleId, deviceId: transition.deviceId, state: transition.state }, 'alerts: absence transition');
            void this.#store([transition]);
          }
        },
        error: (err: unknown) => deps.log.error({ err, partition: p }, 'alerts: the rule evaluation of a partition failed'),
      });
    this.#owned.set(p, owned);
    try {
      const last = await deps.stream.lastDelivered(p);
      const pending = await deps.stream.readPending(p, 100_000);
      const pendingIds = new Set(pending.map((e) => e.id));
      let replayed = 0;
      if (last !== '0-0') {
        let from = `${Math.max(0, deps.now() - deps.options.replayMs)}-0`;
        for (;;) {
          const page = await deps.stream.range(p, from, last, 1_000);
          const stored = page.filter((e) => !pendingIds.has(e.id));
          // Acknowledged by the previous owner: their transitions are stored; only the state is rebuilt.
          this.#feed(owned, stored);
          replayed += stored.length;
          const end = page[page.length - 1];
          if (page.length < 1_000 || end === undefined) break;
          from = `(${end.id}`;
        }
      }
      if (pending.length > 0) await this.#handle(owned, pending);
      owned.live = true;
      deps.log.info({ partition: p, replayed, pending: pending.length, ms: deps.now() - started }, 'alerts: partition taken over; evaluated here');
    } catch (err) {
      deps.log.error({ err, partition: p }, 'alerts: taking a partition over failed; trying again at the next check');
      this.#drop(p);
    }
  }

  /** Feeds entries to the partition's pipeline; answers the transitions they caused. */
  #feed(owned: Owned, entries: readonly AlertStreamEntry[]): RuleTransition[] {
    const collected: RuleTransition[] = [];
    owned.collecting = collected;
    let count = 0;
    try {
      for (const entry of entries) {
        for (const sample of entry.batch.samples) {
          for (const metric in sample.metrics) {
            const value = sample.metrics[metric];
            if (value === undefined) continue;
            count++;
            owned.samples.next({ deviceId: entry.deviceId, metric, value, ts: sample.ts, arrivedAt: entry.receivedAt });
          }
        }
      }
    } finally {
      owned.collecting = undefined;
    }
    this.#deps.metrics.samples.inc(count);
    return collected;
  }

  /** Evaluates entries, stores their transitions, then acknowledges them. */
  async #handle(owned: Owned, entries: readonly AlertStreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const { deps } = { deps: this.#deps };
    deps.engine.noteSeen(entries.map((e) => [e.deviceId, e.receivedAt] as const));
    // Scopes naming groups or tags need the devices' registry answers before the evaluation.
    if (deps.rules$.value.some((rule) => rule.enabled && needsRegistry(rule.scope))) {
      await this.#retry(() => deps.scope.prefetch(new Set(entries.map((e) => e.deviceId))), 'looking devices up in the registry');
    }
    const transitions = this.#feed(owned, entries);
    const stored = await this.#store(transitions);
    // Not acknowledged when the engine closed first or the lease went meanwhile: the next owner re-reads them.
    if (!stored || this.#owned.get(owned.p) !== owned || !deps.lease(owned.p).held()) return;
    await this.#retry(() => deps.stream.ack(owned.p, entries.map((e) => e.id)), 'acknowledging stream entries');
    this.#handled += entries.length;
  }

  async #store(transitions: readonly RuleTransition[]): Promise<boolean> {
    const kept: RuleTransition[] = [];
    for (const t of transitions) {
      if (t.state === 'firing') {
        // A replayed firing (crash after storing, before acknowledging) is no later than the stored one.
        const fired = await this.#retry(() => this.#deps.lastFiredAt(t.ruleId, t.deviceId), 'reading stored firings');
        if (fired !== undefined && t.ts <= fired) {
          this.#deps.metrics.transitions.inc({ state: t.state, source: 'platform', outcome: 'duplicate' });
          this.#deps.log.debug({ ruleId: t.ruleId, deviceId: t.deviceId, ts: t.ts }, 'alerts: replayed firing already stored; dropped');
          continue;
        }
      }
      kept.push(t);
    }
    return this.#deps.engine.applyTransitions(kept);
  }

  async #readLoop(): Promise<void> {
    const { deps } = { deps: this.#deps };
    let failures = 0;
    while (!this.#closed) {
      const live = [...this.#owned.values()].filter((o) => o.live).map((o) => o.p);
      if (live.length === 0) {
        await sleep(Math.min(deps.options.checkMs, deps.options.blockMs));
        continue;
      }
      try {
        const read = await deps.stream.readNew(live, deps.options.readCount, deps.options.blockMs);
        for (const [p, entries] of read) {
          const owned = this.#owned.get(p);
          // Read after the lease went: left pending for the next owner.
          if (owned === undefined || !owned.live) continue;
          await this.#handle(owned, entries);
        }
        failures = 0;
      } catch (err) {
        if (this.#closed) return;
        failures++;
        deps.metrics.engineErrors.inc();
        const delay = Math.min(deps.options.retryMaxMs, deps.options.retryBaseMs * 2 ** Math.min(failures - 1, 16));
        deps.log.error({ err, retryInMs: delay }, 'alerts: reading the alert streams failed; retrying');
        await sleep(delay);
      }
    }
  }

  async #retry<T>(work: () => Promise<T>, what: string): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        this.#deps.metrics.engineErrors.inc();
        if (this.#closed) return undefined;
        const delay = Math.min(this.#deps.options.retryMaxMs, this.#deps.options.retryBaseMs * 2 ** Math.min(attempt - 1, 16));
        this.#deps.log.error({ err, attempt, retryInMs: delay }, `alerts: ${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }
}

function openKey(ruleId: string, deviceId: string): string {
  return `${ruleId}\u0000${deviceId}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
