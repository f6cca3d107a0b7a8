/**
 * Which devices a rule applies to (SPEC Rule `scope`: every present criterion must match;
 * empty = all). Group and tags come from the registry, cached per device and invalidated by
 * the registry's events, so the engine decides synchronously on the hot path.
 */
import type { DeviceSummary, RegistryPort } from '@outpost/kernel';
import type { RegistryEvent, Rule, RuleScope } from '@outpost/protocol';
import type { Subscription } from 'rxjs';

/**
 * What the alerts module needs of the registry: `lookup` and `events`; `deviceIds` (devices by
 * group/tags, to expect silent devices in absence rules) and `groupExists` (to refuse unknown
 * groups in scopes) are used when the port offers them.
 */
export type AlertsRegistry = Pick<RegistryPort, 'lookup' | 'events'> & {
  groupExists?(name: string): Promise<boolean>;
  deviceIds?(filter: { readonly group?: string; readonly tags?: Readonly<Record<string, string>> }): Promise<string[]>;
};

interface Entry {
  readonly device: DeviceSummary | null;
  readonly expiresAt: number;
}

const INVALIDATING: ReadonlySet<RegistryEvent['type']> = new Set(['enrolled', 'suspended', 'resumed', 'revoked', 'deleted', 'group-changed', 'tags-changed']);

export function needsRegistry(scope: RuleScope): boolean {
  return scope.groups !== undefined || scope.tags !== undefined;
}

export function matchesScope(scope: RuleScope, deviceId: string, device: DeviceSummary | null | undefined): boolean {
  if (scope.devices !== undefined && !scope.devices.includes(deviceId)) return false;
  if (!needsRegistry(scope)) return true;
  if (device === null || device === undefined) return false;
  if (scope.groups !== undefined && !scope.groups.includes(device.group)) return false;
  if (scope.tags !== undefined) {
    for (const [key, value] of Object.entries(scope.tags)) if (device.tags[key] !== value) return false;
  }
  return true;
}

export class ScopeResolver {
  readonly #registry: AlertsRegistry;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, Entry>();
  readonly #listeners: ((event: RegistryEvent) => void)[] = [];
  #subscription: Subscription | undefined;

  constructor(registry: AlertsRegistry, now: () => number, ttlMs: number) {
    this.#registry = registry;
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  start(): void {
    this.#subscription = this.#registry.events.subscribe((event) => {
      if (INVALIDATING.has(event.type) && event.deviceId !== undefined) this.#cache.delete(event.deviceId);
      for (const listener of this.#listeners) listener(event);
    });
  }

  /** Called for every registry event, after the cache forgot the device. */
  onEvent(listener: (event: RegistryEvent) => void): void {
    this.#listeners.push(listener);
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  /** The cached summary: a device, null (no such device), undefined (not asked yet). */
  cached(deviceId: string): DeviceSummary | null | undefined {
    return this.#cache.get(deviceId)?.device;
  }

  /** Asks the registry about devices not cached (or expired); failures leave them unknown and are rethrown. */
  async prefetch(deviceIds: Iterable<string>): Promise<void> {
    const now = this.#now();
    const wanted = [...new Set(deviceIds)].filter((id) => {
      const entry = this.#cache.get(id);
      return entry === undefined || entry.expiresAt <= now;
    });
    await Promise.all(
      wanted.map(async (id) => {
        const device = (await this.#registry.lookup(id)) ?? null;
        this.#cache.set(id, { device, expiresAt: this.#now() + this.#ttlMs });
      }),
    );
  }

  /** Synchronous: call `prefetch` for the devices first when the scope needs the registry. */
  inScope(rule: Rule, deviceId: string): boolean {
    return matchesScope(rule.scope, deviceId, this.cached(deviceId));
  }

  async lookup(deviceId: string): Promise<DeviceSummary | null> {
    await this.prefetch([deviceId]);
    return this.cached(deviceId) ?? null;
  }

  async groupExists(name: string): Promise<boolean> {
    return this.#registry.groupExists === undefined ? true : this.#registry.groupExists(name);
  }

  /** Registered devices a scope may cover (undefined when the port cannot list devices). */
  async registeredDevices(scope: RuleScope): Promise<string[] | undefined> {
    const list = this.#registry.deviceIds;
    if (list === undefined) return undefined;
    if (scope.devices !== undefined) return [...scope.devices];
    const tags = scope.tags === undefined ? {} : { tags: scope.tags };
    if (scope.groups === undefined) return list.call(this.#registry, tags);
    const all = await Promise.all(scope.groups.map((group) => list.call(this.#registry, { group, ...tags })));
    return all.flat();
  }

  /** Can the registry tell whether a group exists? */
  get checksGroups(): boolean {
    return this.#registry.groupExists !== undefined;
  }
}
