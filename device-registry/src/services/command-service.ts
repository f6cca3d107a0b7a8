import { randomBytes } from 'node:crypto';
import { OutpostError, validatePayload, type Command } from '@outpost/protocol';
import type { CommandStore } from '../adapters/command-store.js';
import type { DeviceStore } from '../adapters/device-store.js';
import { acceptsInstructions } from '../domain/lifecycle.js';
import { commandStateAt, type CommandRecord } from '../domain/records.js';
import type { CommandOutcome, CommandState } from '@outpost/kernel';
import type { RegistryEvents } from './registry-events.js';

/** Default command lifetime when the operator gives none. */
export const DEFAULT_COMMAND_TTL_S = 3600;

const FROM: Readonly<Record<Exclude<CommandState, 'queued'>, readonly CommandState[]>> = {
  delivered: ['queued'],
  succeeded: ['queued', 'delivered'],
  failed: ['queued', 'delivered'],
  expired: ['queued', 'delivered'],
};

/** Commands are ids that sort by creation: `c` + time (base 36) + random. */
function newCommandId(now: number): string {
  return `c${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

/** Commands for devices: stored with their state; delivered over MQTT by the broker (CommandPort). */
export class CommandService {
  readonly #commands: CommandStore;
  readonly #devices: DeviceStore;
  readonly #events: RegistryEvents;
  readonly #now: () => number;

  constructor(deps: { commands: CommandStore; devices: DeviceStore; events: RegistryEvents; now: () => number }) {
    this.#commands = deps.commands;
    this.#devices = deps.devices;
    this.#events = deps.events;
    this.#now = deps.now;
  }

  async create(deviceId: string, input: { name: string; args?: Readonly<Record<string, unknown>>; ttlSeconds?: number }, createdBy: string): Promise<CommandRecord> {
    const device = await this.#devices.get(deviceId);
    if (device === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
    if (!acceptsInstructions(device.status)) throw new OutpostError('DEVICE_STATE_CONFLICT', `device ${deviceId} is ${device.status}: it takes no commands`);
    const now = this.#now();
    const id = newCommandId(now);
    const expiresAt = now + (input.ttlSeconds ?? DEFAULT_COMMAND_TTL_S) * 1000;
    const checked = validatePayload('Command', { v: 1, id, name: input.name, args: input.args ?? {}, expiresAt });
    if (!checked.ok) throw new OutpostError('COMMAND_INVALID', `invalid command: ${checked.reason}`, { details: { path: checked.path ?? '' } });
    const command: CommandRecord = {
      id,
      deviceId,
      name: input.name,
      args: checked.value.args,
      state: 'queued',
      result: null,
      createdBy,
      createdAt: now,
      expiresAt,
      updatedAt: now,
    };
    await this.#commands.insert(command);
    this.#events.emit('command-created', deviceId);
    return command;
  }

  /** A device's commands, newest first, with expiry applied. */
  async list(deviceId: string, options: { limit: number; before?: string }): Promise<CommandRecord[]> {
    if ((await this.#devices.get(deviceId)) === undefined) throw new OutpostError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
    const now = this.#now();
    return (await this.#commands.ofDevice(deviceId, options)).map((c) => ({ ...c, state: commandStateAt(c, now) }));
  }

  async pending(deviceId: string): Promise<Command[]> {
    const rows = await this.#commands.pending(deviceId, this.#now());
    return rows.map((c) => ({ v: 1, id: c.id, name: c.name, args: c.args, expiresAt: c.expiresAt }));
  }

  async mark(deviceId: string, id: string, state: Exclude<CommandState, 'queued'>, result?: CommandOutcome): Promise<boolean> {
    return this.#commands.setState(deviceId, id, FROM[state], state, result ?? null, this.#now());
  }
}
