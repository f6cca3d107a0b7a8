/**
 * What the routes do, apart from HTTP: rules (validated, versioned, pushed to the engine),
 * channels (secrets write-only), alerts (list, show, acknowledge) and backtests.
 */
import { OutpostError, type Alert, type AlertEvent, type AlertState, type Rule, type Severity } from '@outpost/protocol';
import type { BehaviorSubject } from 'rxjs';
import type { AlertRecord, AlertStore } from '../adapters/alert-store.js';
import type { Channel, ChannelStore, ChannelType, Delivery } from '../adapters/channel-store.js';
import type { WebhookTargetGuard } from '../adapters/webhook-target.js';
import type { RuleStore, StoredRule } from '../adapters/rule-store.js';
import type { AlertLifecycle } from './alert-lifecycle.js';
import { backtest, type BacktestDeps, type BacktestResult } from './backtest.js';
import { checkRule } from './rule-validator.js';
import type { ScopeResolver } from './scope-resolver.js';

export interface RuleView extends Rule {
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ChannelView {
  readonly id: string;
  readonly name: string;
  readonly type: ChannelType;
  readonly url?: string;
  readonly minSeverity?: Severity;
  /** A webhook secret is set (it is never shown). */
  readonly hasSecret: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type AlertView = Alert & { readonly source: 'platform' | 'edge' };

export interface ChannelInput {
  readonly id?: string;
  readonly name?: string;
  readonly type: ChannelType;
  readonly url?: string;
  readonly secret?: string;
  readonly minSeverity?: Severity;
}

export interface AlertsServiceDeps {
  readonly rules: RuleStore;
  readonly alerts: AlertStore;
  readonly channels: ChannelStore;
  readonly rules$: BehaviorSubject<readonly Rule[]>;
  readonly scope: ScopeResolver;
  readonly lifecycle: AlertLifecycle;
  readonly backtest: BacktestDeps;
  /** Registry answers for the devices the rules may expect (before the engine sees them). */
  readonly prefetch: (rules: readonly Rule[]) => Promise<void>;
  /** Refuses webhook URLs to loopback/link-local/unspecified addresses unless allowed (D8). */
  readonly webhookTargets: Pick<WebhookTargetGuard, 'check'>;
  readonly now: () => number;
  readonly newId: (prefix: string) => string;
}

const META_FIELDS = ['version', 'createdAt', 'updatedAt'] as const;

export function ruleView(stored: StoredRule): RuleView {
  return { ...stored.rule, version: stored.version, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
}

export function alertView(record: AlertRecord): AlertView {
  return {
    id: record.id,
    ruleId: record.ruleId,
    deviceId: record.deviceId,
    severity: record.severity,
    state: record.state,
    value: record.value,
    firedAt: record.firedAt,
    ...(record.resolvedAt === undefined ? {} : { resolvedAt: record.resolvedAt }),
    ...(record.ack === undefined ? {} : { ack: record.ack }),
    maintenance: record.maintenance,
    late: record.late,
    source: record.source,
  };
}

export function channelView(channel: Channel): ChannelView {
  return {
    id: channel.id,
    name: channel.name,
    type: channel.type,
    ...(channel.url === undefined ? {} : { url: channel.url }),
    ...(channel.minSeverity === undefined ? {} : { minSeverity: channel.minSeverity }),
    hasSecret: channel.secret !== undefined,
    createdAt: channel.createdAt,
    updatedAt: channel.updatedAt,
  };
}

function splitMeta(input: unknown): { body: unknown; version?: number } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { body: input };
  const record = input as Record<string, unknown>;
  const body = Object.fromEntries(Object.entries(record).filter(([key]) => !(META_FIELDS as readonly string[]).includes(key)));
  const version = record['version'];
  return typeof version === 'number' ? { body, version } : { body };
}

export class AlertsService {
  readonly #deps: AlertsServiceDeps;
  readonly #cache = new Map<string, StoredRule>();
  readonly #channelIds = new Set<string>();

  constructor(deps: AlertsServiceDeps) {
    this.#deps = deps;
  }

  /** Loads rules and channel ids; pushes the rule set to the engine. */
  async load(): Promise<void> {
    for (const stored of await this.#deps.rules.all()) this.#cache.set(stored.rule.id, stored);
    for (const channel of await this.#deps.channels.all()) this.#channelIds.add(channel.id);
    this.#publish();
  }

  /**
   * Cluster nodes (ADR 0013): re-reads the stored rules and publishes the set when another node
   * changed it (unchanged rules keep their objects, so their running state is kept).
   */
  async reload(): Promise<boolean> {
    const stored = await this.#deps.rules.all();
    const seen = new Set<string>();
    const changed: Rule[] = [];
    let removed = false;
    for (const next of stored) {
      seen.add(next.rule.id);
      const known = this.#cache.get(next.rule.id);
      if (known !== undefined && known.version === next.version) continue;
      this.#cache.set(next.rule.id, next);
      changed.push(next.rule);
    }
    for (const id of [...this.#cache.keys()]) {
      if (seen.has(id)) continue;
      this.#cache.delete(id);
      removed = true;
    }
    if (changed.length === 0 && !removed) return false;
    await this.#deps.prefetch(changed);
    this.#publish();
    return true;
  }

  rule(id: string): Rule | undefined {
    return this.#cache.get(id)?.rule;
  }

  get enabledRules(): number {
    let n = 0;
    for (const { rule } of this.#cache.values()) if (rule.enabled) n++;
    return n;
  }

  #publish(): void {
    this.#deps.rules$.next([...this.#cache.values()].map((s) => s.rule));
  }

  #checkContext() {
    return {
      channelExists: (id: string) => this.#channelIds.has(id),
      ...(this.#deps.scope.checksGroups ? { groupExists: (name: string) => this.#deps.scope.groupExists(name) } : {}),
    };
  }

  async validate(input: unknown, id: string): Promise<Rule> {
    return checkRule(splitMeta(input).body, id, this.#checkContext());
  }

  async listRules(limit: number, after?: string): Promise<RuleView[]> {
    return (await this.#deps.rules.list({ limit, ...(after === undefined ? {} : { after }) })).map(ruleView);
  }

  async getRule(id: string): Promise<RuleView> {
    const stored = await this.#deps.rules.get(id);
    if (stored === undefined) throw new OutpostError('RULE_NOT_FOUND', `no rule ${id}`);
    return ruleView(stored);
  }

  async createRule(input: unknown): Promise<RuleView> {
    const given = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['id'] : undefined;
    const id = typeof given === 'string' ? given : given === undefined ? this.#deps.newId('rule') : '';
    const rule = await this.validate(input, id);
    await this.#deps.prefetch([rule]);
    const stored = await this.#deps.rules.insert(rule, this.#deps.now());
    if (stored === undefined) throw new OutpostError('RULE_EXISTS', `a rule ${rule.id} exists already: change it with PUT /api/v1/rules/${rule.id}`);
    this.#cache.set(rule.id, stored);
    this.#publish();
    return ruleView(stored);
  }

  async replaceRule(id: string, input: unknown): Promise<RuleView> {
    const bodyId = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['id'] : undefined;
    if (bodyId !== undefined && bodyId !== id) {
      throw new OutpostError('RULE_INVALID', `the body's id "${String(bodyId)}" is not the rule ${id} of the path`, { details: [{ path: 'id', message: `must be "${id}" (or left out)` }] });
    }
    const { version } = splitMeta(input);
    const rule = await this.validate(input, id);
    const current = await this.#deps.rules.get(id);
    if (current === undefined) throw new OutpostError('RULE_NOT_FOUND', `no rule ${id}: create it with POST /api/v1/rules`);
    if (version !== undefined && version !== current.version) {
      throw new OutpostError('RULE_CONFLICT', `rule ${id} is at version ${current.version}, not ${version}: someone changed it meanwhile`);
    }
    await this.#deps.prefetch([rule]);
    const stored = await this.#deps.rules.replace(rule, current.version, this.#deps.now());
    if (stored === undefined) throw new OutpostError('RULE_CONFLICT', `rule ${id} changed meanwhile: read it again and retry`);
    this.#cache.set(id, stored);
    this.#publish();
    return ruleView(stored);
  }

  /** Deletes a rule; its open alerts are resolved (live hub only: the rule's channels are gone with it). */
  async deleteRule(id: string): Promise<void> {
    const removed = await this.#deps.rules.delete(id);
    if (!removed) throw new OutpostError('RULE_NOT_FOUND', `no rule ${id}`);
    const stored = this.#cache.get(id);
    this.#cache.delete(id);
    this.#publish();
    const now = this.#deps.now();
    for (const open of await this.#deps.alerts.openOfRule(id)) {
      await this.#deps.lifecycle.apply({
        ruleId: id,
        deviceId: open.deviceId,
        state: 'resolved',
        value: null,
        ts: now,
        severity: stored?.rule.severity ?? open.severity,
        late: false,
        source: open.source,
      });
    }
  }

  async testRule(id: string, from: number, to: number): Promise<BacktestResult> {
    const stored = this.#cache.get(id) ?? (await this.#deps.rules.get(id));
    if (stored === undefined) throw new OutpostError('RULE_NOT_FOUND', `no rule ${id}`);
    return backtest(this.#deps.backtest, stored.rule, from, to);
  }

  async testUnsaved(input: unknown, from: number, to: number): Promise<BacktestResult> {
    const given = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['id'] : undefined;
    const rule = await this.validate(input, typeof given === 'string' ? given : 'unsaved');
    return backtest(this.#deps.backtest, rule, from, to);
  }

  // Alerts

  async listAlerts(filter: { state?: AlertState; deviceId?: string; severity?: Severity; ruleId?: string; limit: number; after?: { createdAt: number; id: string } }) {
    const records = await this.#deps.alerts.list(filter);
    return records.map((r) => ({ view: alertView(r), createdAt: r.createdAt }));
  }

  async getAlert(id: string): Promise<AlertView & { events: AlertEvent[] }> {
    const record = await this.#deps.alerts.get(id);
    if (record === undefined) throw new OutpostError('ALERT_NOT_FOUND', `no alert ${id}`);
    return { ...alertView(record), events: await this.#deps.alerts.events(id) };
  }

  async acknowledge(id: string, by: string, comment: string): Promise<AlertView> {
    const result = await this.#deps.alerts.acknowledge(id, { by, at: this.#deps.now(), comment });
    if (result === undefined) throw new OutpostError('ALERT_NOT_FOUND', `no alert ${id}`);
    if (!result.changed) {
      const { alert } = result;
      const why = alert.state === 'acknowledged' ? `was acknowledged by ${alert.ack?.by ?? 'someone'} already` : 'is resolved';
      throw new OutpostError('ALERT_CONFLICT', `alert ${id} ${why}: only a firing alert can be acknowledged`);
    }
    return alertView(result.alert);
  }

  // Channels

  async listChannels(limit: number, after?: string): Promise<ChannelView[]> {
    return (await this.#deps.channels.list({ limit, ...(after === undefined ? {} : { after }) })).map(channelView);
  }

  async getChannel(id: string): Promise<ChannelView> {
    return channelView(await this.#channel(id));
  }

  async #channel(id: string): Promise<Channel> {
    const channel = await this.#deps.channels.get(id);
    if (channel === undefined) throw new OutpostError('CHANNEL_NOT_FOUND', `no channel ${id}`);
    return channel;
  }

  #checkChannel(input: ChannelInput, previous?: Channel): Channel {
    const problems: { path: string; message: string }[] = [];
    if (input.type === 'webhook') {
      if (input.url === undefined) problems.push({ path: 'url', message: 'required for a webhook' });
      else {
        let url: URL | undefined;
        try {
          url = new URL(input.url);
        } catch {
          problems.push({ path: 'url', message: 'must be an absolute http(s) URL' });
        }
        if (url !== undefined && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push({ path: 'url', message: 'must be an http or https URL' });
        if (url !== undefined && (url.username !== '' || url.password !== '')) problems.push({ path: 'url', message: 'must not carry credentials (the secret signs every request)' });
      }
      if (input.secret === undefined && previous?.secret === undefined) problems.push({ path: 'secret', message: 'required for a webhook: the HMAC-SHA256 key of X-Outpost-Signature' });
    } else {
      if (input.url !== undefined) problems.push({ path: 'url', message: "an mqtt channel publishes to integrations/alerts; it takes no url" });
      if (input.secret !== undefined) problems.push({ path: 'secret', message: 'an mqtt channel takes no secret' });
    }
    if (problems.length > 0) {
      throw new OutpostError('CHANNEL_INVALID', `invalid channel: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { details: problems });
    }
    const now = this.#deps.now();
    const id = previous?.id ?? input.id ?? this.#deps.newId('ch');
    const secret = input.type === 'webhook' ? (input.secret ?? previous?.secret) : undefined;
    return {
      id,
      name: input.name ?? previous?.name ?? id,
      type: input.type,
      ...(input.type === 'webhook' && input.url !== undefined ? { url: input.url } : {}),
      ...(secret === undefined ? {} : { secret }),
      ...(input.minSeverity === undefined ? {} : { minSeverity: input.minSeverity }),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
  }

  /** A webhook URL whose host is (or resolves to) a refused address: CHANNEL_INVALID (400) saying why. */
  async #checkTarget(channel: Channel): Promise<void> {
    if (channel.type !== 'webhook' || channel.url === undefined) return;
    const refusal = await this.#deps.webhookTargets.check(new URL(channel.url));
    if (refusal !== undefined) throw new OutpostError('CHANNEL_INVALID', `invalid channel: url: ${refusal}`, { details: [{ path: 'url', message: refusal }] });
  }

  async createChannel(input: ChannelInput): Promise<ChannelView> {
    const channel = this.#checkChannel(input);
    await this.#checkTarget(channel);
    if (!(await this.#deps.channels.insert(channel))) throw new OutpostError('CHANNEL_EXISTS', `a channel ${channel.id} exists already`);
    this.#channelIds.add(channel.id);
    return channelView(channel);
  }

  /** Replaces a channel; a webhook's secret is kept when the body leaves it out. */
  async replaceChannel(id: string, input: ChannelInput): Promise<ChannelView> {
    if (input.id !== undefined && input.id !== id) throw new OutpostError('CHANNEL_INVALID', `the body's id "${input.id}" is not the channel ${id} of the path`);
    const previous = await this.#channel(id);
    const channel = this.#checkChannel(input, previous.type === input.type ? previous : { ...previous, secret: undefined } as Channel);
    await this.#checkTarget(channel);
    await this.#deps.channels.replace(channel);
    return channelView(channel);
  }

  async deleteChannel(id: string): Promise<void> {
    const users = [...this.#cache.values()].filter((s) => s.rule.channels?.includes(id)).map((s) => s.rule.id);
    if (users.length > 0) throw new OutpostError('CHANNEL_CONFLICT', `channel ${id} is used by rule${users.length === 1 ? '' : 's'} ${users.join(', ')}: take it out of them first`);
    if (!(await this.#deps.channels.delete(id))) throw new OutpostError('CHANNEL_NOT_FOUND', `no channel ${id}`);
    this.#channelIds.delete(id);
  }

  async deliveries(id: string, limit: number, before?: number): Promise<Delivery[]> {
    await this.#channel(id);
    return this.#deps.channels.deliveries(id, { limit, ...(before === undefined ? {} : { before }) });
  }
}
