/**
 * The signing keys a fleet trusts (SPEC "TrustSet"; issue 13 item 1). A change arrives as the
 * next TrustSet, made and signed offline by `outpost keys register|remove` with a key the
 * current set already trusts; it is checked, stored (the database is the truth), and then
 * published retained to every device — and again to a device each time it comes online,
 * since the broker's retained store lives in memory. Changes are applied one at a time.
 */
import type { DeviceChannel, Log, RegistryPort } from '@outpost/kernel';
import { OutpostError, type TrustSet } from '@outpost/protocol';
import type { TrustSetStore } from '../adapters/trust-set-store.js';
import { checkSuccessor, checkTrustSet } from '../signing/trust-sets.js';

export interface TrustServiceDeps {
  readonly store: TrustSetStore;
  readonly channel: DeviceChannel;
  readonly registry: RegistryPort;
  readonly log: Log;
  now(): number;
}

/** Publishing to the fleet runs this many devices at a time. */
const PUBLISH_CONCURRENCY = 32;

export class TrustService {
  readonly #deps: TrustServiceDeps;
  #queue: Promise<unknown> = Promise.resolve();
  #current: TrustSet | undefined;
  /** Fleet publications not finished yet (close waits for them). */
  readonly #publishing = new Set<Promise<void>>();

  constructor(deps: TrustServiceDeps) {
    this.#deps = deps;
  }

  async load(): Promise<TrustSet> {
    this.#current = await this.#deps.store.current();
    return this.#current;
  }

  /** Keys and version of the set loaded last (for metrics). */
  get figures(): { keys: number; version: number } {
    return { keys: this.#current?.keys.length ?? 0, version: this.#current?.version ?? 0 };
  }

  async current(): Promise<TrustSet> {
    return this.#current ?? (await this.load());
  }

  /** Registers one or more new keys: `next` keeps every current key and adds at least one. */
  register(input: unknown, actor: string): Promise<TrustSet> {
    return this.#serial(async () => {
      const current = await this.load();
      const next = checkTrustSet(input);
      const kept = new Set(next.keys.map((k) => k.keyId));
      const dropped = current.keys.filter((k) => !kept.has(k.keyId));
      if (dropped.length > 0) throw new OutpostError('OTA_TRUST_SET_INVALID', `the new set drops ${dropped.map((k) => k.keyId).join(', ')}: remove keys with DELETE /signing-keys/{keyId} (outpost keys remove)`);
      const added = next.keys.filter((k) => !current.keys.some((c) => c.keyId === k.keyId));
      if (added.length === 0) throw new OutpostError('OTA_TRUST_SET_INVALID', 'the new set adds no key');
      return this.#accept(current, next, actor);
    });
  }

  /**
   * Removes `keyId`: `next` is the current set without it. The last key is never removed:
   * a device whose set is empty takes the next set unsigned, so an empty set would reopen
   * first contact, and no artifact could be verified meanwhile.
   */
  remove(keyId: string, input: unknown, actor: string): Promise<TrustSet> {
    return this.#serial(async () => {
      const current = await this.load();
      if (!current.keys.some((k) => k.keyId === keyId)) throw new OutpostError('OTA_SIGNING_KEY_NOT_FOUND', `no trusted signing key ${keyId}`);
      if (current.keys.length === 1) {
        throw new OutpostError('OTA_TRUST_LAST_KEY', `${keyId} is the last trusted key: register its successor first (outpost keys register), then remove it — an empty set would let devices take the next set unsigned`);
      }
      const next = checkTrustSet(input);
      const expected = current.keys.filter((k) => k.keyId !== keyId).map((k) => k.keyId).sort();
      const got = next.keys.map((k) => k.keyId).sort();
      if (expected.join(',') !== got.join(',')) throw new OutpostError('OTA_TRUST_SET_INVALID', `the new set must hold exactly the current keys without ${keyId} (${expected.join(', ')})`);
      return this.#accept(current, next, actor);
    });
  }

  async #accept(current: TrustSet, next: TrustSet, actor: string): Promise<TrustSet> {
    checkSuccessor(current, next);
    const stored = await this.#deps.store.append(next, actor, this.#deps.now());
    if (!stored) throw new OutpostError('OTA_TRUST_VERSION_CONFLICT', `trust set version ${next.version} exists already: fetch the current set and try again`);
    this.#current = next;
    this.#track(this.#publishAll(next));
    return next;
  }

  /**
   * Publishes the current set to one device (it just came online); nothing before the first set.
   * Read from the database each time: in a cluster another node may have registered a newer set
   * (a broker node's copy from its start would hold version 0 for good).
   */
  async deliverTo(deviceId: string): Promise<void> {
    const set = await this.load();
    if (set.version === 0) return;
    await this.#deps.channel.publishTrustSet(deviceId, set);
  }

  /** Re-delivers to one device without waiting; failures are logged (the next connect tries again). */
  deliverInBackground(deviceId: string): void {
    this.#track(
      this.deliverTo(deviceId).catch((err: unknown) => {
        this.#deps.log.warn({ err, deviceId }, 'ota: could not publish the trust set to a device that came online');
      }),
    );
  }

  async #publishAll(set: TrustSet): Promise<void> {
    const { registry, channel, log } = this.#deps;
    let failed = 0;
    try {
      const ids = await registry.deviceIds({});
      for (let i = 0; i < ids.length; i += PUBLISH_CONCURRENCY) {
        const batch = ids.slice(i, i + PUBLISH_CONCURRENCY);
        const results = await Promise.allSettled(batch.map((id) => channel.publishTrustSet(id, set)));
        failed += results.filter((r) => r.status === 'rejected').length;
      }
      log.info({ version: set.version, keys: set.keys.length, devices: ids.length, failed }, 'ota: trust set published to the fleet');
    } catch (err) {
      log.error({ err, version: set.version }, 'ota: could not publish the trust set to the fleet (devices get it when they reconnect)');
    }
  }

  #track(work: Promise<void>): void {
    this.#publishing.add(work);
    void work.finally(() => this.#publishing.delete(work));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every publication started so far has finished. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#publishing]);
  }
}
