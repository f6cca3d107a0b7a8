/**
 * Platform → device delivery (issue 4, item 7), and the `deviceChannel` port. DesiredConfig
 * is retained and republished from the registry on change and on every reconnect (the
 * broker's retained store lives in memory). Commands are delivered once the device is
 * subscribed to its commands topic — on that SUBSCRIBE, and on `command-created` — and marked
 * delivered in the registry; commands other parts hand to the channel wait in memory until
 * the device subscribes or they expire.
 */
import type { RegistryPort, DeviceChannel } from '@outpost/kernel';
import { encodePayload, topics, type Command, type DesiredConfig, type OtaJob, type RegistryEvent, type TrustSet } from '@outpost/protocol';
import { KeyedQueue } from '../domain/keyed-queue.js';
import type { Log } from '../ports/log.js';
import type { MqttOutbound } from '../ports/mqtt-hooks.js';
import type { SessionRegistry } from './session-registry.js';

export interface InstructionDeliveryDeps {
  readonly registry: RegistryPort;
  readonly outbound: MqttOutbound;
  readonly sessions: SessionRegistry;
  readonly now: () => number;
  readonly log: Log;
}

export class InstructionDelivery implements DeviceChannel {
  readonly #deps: InstructionDeliveryDeps;
  readonly #queue: KeyedQueue;
  readonly #held = new Map<string, Command[]>();

  constructor(deps: InstructionDeliveryDeps) {
    this.#deps = deps;
    this.#queue = new KeyedQueue((deviceId, err) => deps.log.error({ err, deviceId }, 'device instruction delivery failed; retried on the next reconnect'));
  }

  onRegistryEvent(event: RegistryEvent): void {
    if (event.deviceId === undefined) return; // an integration certificate: nothing to deliver
    const { deviceId } = event;
    if (event.type === 'config-changed') void this.#queue.run(deviceId, () => this.#publishDesiredFromRegistry(deviceId));
    else if (event.type === 'command-created') void this.#queue.run(deviceId, () => this.#deliverCommands(deviceId));
    else if (event.type === 'deleted' || event.type === 'revoked') this.#held.delete(deviceId);
  }

  /** A device's session is live: refresh its retained desired config. */
  onReady(deviceId: string): void {
    void this.#queue.run(deviceId, () => this.#publishDesiredFromRegistry(deviceId));
  }

  onSubscribed(deviceId: string, subscribed: readonly string[]): void {
    if (subscribed.includes(topics.commands(deviceId))) void this.#queue.run(deviceId, () => this.#deliverCommands(deviceId));
  }

  isConnected(deviceId: string): boolean {
    const session = this.#deps.sessions.device(deviceId);
    return session !== undefined && !session.closed;
  }

  async publishDesiredConfig(deviceId: string, config: DesiredConfig): Promise<void> {
    await this.#deps.outbound.publish({ topic: topics.configDesired(deviceId), payload: encodePayload('DesiredConfig', config), qos: 1, retain: true });
  }

  async publishTrustSet(deviceId: string, trust: TrustSet): Promise<void> {
    await this.#deps.outbound.publish({ topic: topics.trust(deviceId), payload: encodePayload('TrustSet', trust), qos: 1, retain: true });
  }

  async publishOtaJob(deviceId: string, job: OtaJob): Promise<void> {
    await this.#deps.outbound.publish({ topic: topics.otaJob(deviceId), payload: encodePayload('OtaJob', job), qos: 1, retain: true });
  }

  async publishCommand(deviceId: string, command: Command): Promise<void> {
    const now = this.#deps.now();
    const held = (this.#held.get(deviceId) ?? []).filter((c) => c.expiresAt > now);
    held.push(command);
    this.#held.set(deviceId, held);
    await this.#queue.run(deviceId, () => this.#deliverCommands(deviceId));
  }

  /** Resolves when every queued delivery has run (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  async #publishDesiredFromRegistry(deviceId: string): Promise<void> {
    const config = await this.#deps.registry.configs.desiredConfig(deviceId);
    if (config === undefined) return;
    await this.publishDesiredConfig(deviceId, config);
    this.#deps.log.debug({ deviceId, version: config.version }, 'desired config published');
  }

  #subscribedToCommands(deviceId: string): boolean {
    const session = this.#deps.sessions.device(deviceId);
    return session !== undefined && !session.closed && session.isSubscribed(topics.commands(deviceId));
  }

  async #deliverCommands(deviceId: string): Promise<void> {
    if (!this.#subscribedToCommands(deviceId)) return;
    const topic = topics.commands(deviceId);
    const now = this.#deps.now();
    const held = (this.#held.get(deviceId) ?? []).filter((c) => c.expiresAt > now);
    this.#held.delete(deviceId);
    for (const command of held) {
      await this.#deps.outbound.publish({ topic, payload: encodePayload('Command', command), qos: 1, retain: false });
    }
    const pending = await this.#deps.registry.commands.pendingCommands(deviceId);
    for (const command of pending) {
      if (!this.#subscribedToCommands(deviceId)) return;
      await this.#deps.outbound.publish({ topic, payload: encodePayload('Command', command), qos: 1, retain: false });
      await this.#deps.registry.commands.markCommand(deviceId, command.id, 'delivered');
      this.#deps.log.info({ deviceId, commandId: command.id, name: command.name }, 'command delivered');
    }
  }
}
