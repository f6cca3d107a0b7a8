import { readFile } from 'node:fs/promises';
import { parseDuration } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import { CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { formatTable } from '../format-table.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';
import type { RegistryApi } from '@outpost/device-registry';
import type { Fits } from '../answer-fits.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
const Certificate = Type.Object({ serial: Type.String(), status: Type.String(), notBefore: Type.Number(), notAfter: Type.Number(), revokedAt: Nullable(Type.Number()) });
const Device = Type.Object({
  id: Type.String(),
  status: Type.String(),
  online: Type.Boolean(),
  lastSeen: Nullable(Type.Number()),
  group: Type.String(),
  tags: Type.Optional(Type.Record(Type.String(), Type.String())),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  hardware: Nullable(Type.String()),
  agentVersion: Nullable(Type.String()),
  firmware: Nullable(Type.Object({ name: Type.String(), version: Type.String() })),
  outbox: Nullable(
    Type.Object({
      depth: Type.Number(),
      bytes: Type.Number(),
      maxBytes: Type.Optional(Type.Number()),
      dropped: Type.Number(),
      droppedSamples: Type.Optional(Type.Number()),
      refused: Type.Number(),
      at: Type.Number(),
    }),
  ),
  createdAt: Type.Optional(Type.Number()),
  certificates: Type.Optional(Type.Array(Certificate)),
  certificateExpiresAt: Nullable(Type.Number()),
});
type Device = Static<typeof Device>;
// What this command reads is what the route answers (issue 14 item 9): a route change breaks the build.
export type DeviceAnswerFits = Fits<RegistryApi.Device, Device>;
const ConfigAnswer = Type.Object({ deviceId: Type.String(), version: Type.Number(), config: Type.Unknown() });
const CommandAnswer = Type.Object({ id: Type.String(), deviceId: Type.String(), name: Type.String(), state: Type.String(), expiresAt: Type.Number() });

const STATUSES = ['active', 'suspended', 'revoked', 'decommissioned'] as const;

function devicePath(id: string, suffix = ''): string {
  return `/devices/${encodeURIComponent(id)}${suffix}`;
}

function formatTags(tags: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `KEY=VALUE` pairs of a repeatable flag as a map. */
function pairsOf(ctx: CommandContext, flag: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of ctx.strings(flag)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw ctx.usageError(`invalid --${flag} "${item}" (expected KEY=VALUE)`);
    pairs[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return pairs;
}

const list: CommandSpec = {
  name: 'list',
  summary: 'List devices, with filters',
  description: 'Lists devices in id order. Deleted (decommissioned) devices are left out unless --status decommissioned.',
  flags: {
    group: { type: 'string', valueName: 'GROUP', description: 'only devices of this group' },
    tag: { type: 'string', valueName: 'KEY=VALUE', description: 'only devices with this tag (KEY alone: with the tag at all)' },
    status: { type: 'string', choices: STATUSES, description: 'only devices in this lifecycle state' },
    online: { type: 'string', choices: ['true', 'false'], description: 'only devices online (true) or offline (false)' },
    firmware: { type: 'string', valueName: 'NAME@VERSION', description: 'only devices running this firmware (or a name or a version alone)' },
    q: { type: 'string', valueName: 'TEXT', description: 'free text in id, group, hardware, tags and metadata' },
    ...listFlags,
    ...apiFlags,
  },
  examples: ['outpost devices list --group greenhouse --online false', 'outpost devices list --tag site=north --all --json'],
  async run(ctx) {
    await printList(ctx, {
      path: '/devices',
      item: Device,
      noun: 'devices',
      query: { group: ctx.string('group'), tag: ctx.string('tag'), status: ctx.string('status'), online: ctx.string('online'), firmware: ctx.string('firmware'), q: ctx.string('q') },
      columns: [
        { header: 'id', value: (d) => d.id },
        { header: 'status', value: (d) => d.status },
        { header: 'online', value: (d) => (d.online ? 'yes' : 'no') },
        { header: 'group', value: (d) => d.group },
        { header: 'tags', value: (d) => formatTags(d.tags) },
        { header: 'agent', value: (d) => d.agentVersion },
        { header: 'firmware', value: (d) => (d.firmware === null || d.firmware === undefined ? undefined : `${d.firmware.name}@${d.firmware.version}`) },
        { header: 'last seen', value: (d) => (d.lastSeen === null || d.lastSeen === undefined ? 'never' : formatTime(d.lastSeen)) },
      ],
    });
  },
};

/** `3 batches, 1.2 KiB of 64 MiB; dropped 2 batches (14 samples); refused 0 (as of <time>)`. */
function formatOutbox(outbox: Device['outbox']): string | undefined {
  if (outbox === null || outbox === undefined) return undefined;
  const size = outbox.maxBytes === undefined ? formatBytes(outbox.bytes) : `${formatBytes(outbox.bytes)} of ${formatBytes(outbox.maxBytes)}`;
  const samples = outbox.droppedSamples === undefined ? '' : ` (${outbox.droppedSamples} samples)`;
  return `${outbox.depth} batches, ${size}; dropped ${outbox.dropped} batches${samples}; refused ${outbox.refused} (as of ${formatTime(outbox.at)})`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${Number(value.toFixed(1))} ${units[unit] ?? ''}`;
}

function printDevice(ctx: CommandContext, d: Device): void {
  const rows: [string, string | undefined][] = [
    ['id', d.id],
    ['status', d.status],
    ['online', d.online ? 'yes' : 'no'],
    ['last seen', d.lastSeen === null || d.lastSeen === undefined ? 'never' : formatTime(d.lastSeen)],
    ['group', d.group],
    ['tags', formatTags(d.tags)],
    ['metadata', formatTags(d.metadata)],
    ['hardware', d.hardware ?? undefined],
    ['agent', d.agentVersion ?? undefined],
    ['firmware', d.firmware === null || d.firmware === undefined ? undefined : `${d.firmware.name}@${d.firmware.version}`],
    ['outbox', formatOutbox(d.outbox)],
    ['enrolled', d.createdAt === undefined ? undefined : formatTime(d.createdAt)],
    ['cert expires', d.certificateExpiresAt === null || d.certificateExpiresAt === undefined ? 'no valid certificate' : formatTime(d.certificateExpiresAt)],
  ];
  for (const [name, value] of rows) ctx.print(`${`${name}:`.padEnd(14)}${value === undefined || value === '' ? '-' : printable(value)}`);
  const certs = d.certificates ?? [];
  if (certs.length === 0) return;
  ctx.print('');
  const columns = [
    { header: 'serial', value: (c: (typeof certs)[number]) => c.serial },
    { header: 'status', value: (c: (typeof certs)[number]) => c.status },
    { header: 'not before', value: (c: (typeof certs)[number]) => formatTime(c.notBefore) },
    { header: 'not after', value: (c: (typeof certs)[number]) => formatTime(c.notAfter) },
  ];
  for (const line of formatTable(columns, certs)) ctx.print(line);
}

const show: CommandSpec = {
  name: 'show',
  summary: 'Show a device with its certificates',
  args: [{ name: 'ID', description: 'device id' }],
  flags: { ...jsonFlag, ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const device = await api.call('GET', devicePath(ctx.arg('ID')), Device);
    if (ctx.boolean('json')) ctx.print(JSON.stringify(device, null, 2));
    else printDevice(ctx, device);
  },
};

function lifecycle(name: 'suspend' | 'resume' | 'revoke', summary: string, done: string): CommandSpec {
  return {
    name,
    summary,
    args: [{ name: 'ID', description: 'device id' }],
    flags: { ...apiFlags },
    async run(ctx) {
      const api = await ctx.api();
      const device = await api.call('POST', devicePath(ctx.arg('ID'), `/${name}`), Device);
      ctx.print(`${done} device ${printable(device.id)} (now ${printable(device.status)}).`);
    },
  };
}

const remove: CommandSpec = {
  name: 'delete',
  summary: 'Delete (decommission) a device: its certificates are revoked and its id may enroll again',
  args: [{ name: 'ID', description: 'device id' }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const id = ctx.arg('ID');
    await api.send('DELETE', devicePath(id));
    ctx.print(`Deleted device ${printable(id)}.`);
  },
};

async function readJsonFile(ctx: CommandContext, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('CLI_FAILED', `cannot read ${printable(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError('CLI_FAILED', `${printable(path)} is not valid JSON: ${printable((err as Error).message)}`, { cause: err });
  }
}

const configSet: CommandSpec = {
  name: 'set',
  summary: "Set a device's desired config from a JSON file",
  description:
    'Stores the file as the next version of the device\'s desired config (a DesiredConfig: collectors, processing, rules, reconnect; ' +
    '"v", "version" and "limits" may be left out). The device receives it over MQTT.',
  args: [{ name: 'ID', description: 'device id' }],
  flags: { file: { type: 'string', short: 'f', required: true, valueName: 'FILE', description: 'the JSON file' }, ...apiFlags },
  examples: ['outpost devices config set pi-01 -f config.json'],
  async run(ctx) {
    const body = await readJsonFile(ctx, ctx.string('file') ?? '');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new CliError('CLI_FAILED', `${printable(ctx.string('file') ?? '')} must hold a JSON object`);
    const api = await ctx.api();
    const stored = await api.call('PUT', devicePath(ctx.arg('ID'), '/config'), ConfigAnswer, { body });
    ctx.print(`Set config version ${stored.version} of device ${printable(stored.deviceId)}.`);
  },
};

const configShow: CommandSpec = {
  name: 'show',
  summary: "Print a device's latest desired config as JSON",
  args: [{ name: 'ID', description: 'device id' }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const stored = await api.call('GET', devicePath(ctx.arg('ID'), '/config'), ConfigAnswer);
    ctx.print(JSON.stringify(stored.config, null, 2));
  },
};

const command: CommandSpec = {
  name: 'command',
  summary: 'Send a command to a device',
  description: 'Queues a command; the device runs it when it is online, unless it expires first. Argument values are sent as strings.',
  args: [
    { name: 'ID', description: 'device id' },
    { name: 'NAME', description: 'command name, e.g. reboot' },
  ],
  flags: {
    arg: { type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'a command argument; repeatable' },
    ttl: { type: 'string', valueName: 'DURATION', description: 'expire the command after this long', default: '1h' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost devices command pi-01 restart-service --arg name=collector'],
  async run(ctx) {
    const args = pairsOf(ctx, 'arg');
    const ttlText = ctx.string('ttl');
    let ttlSeconds: number | undefined;
    if (ttlText !== undefined) {
      const ttl = parseDuration(ttlText);
      if (!ttl.ok) throw ctx.usageError(`invalid --ttl: ${ttl.reason}`);
      ttlSeconds = Math.floor(ttl.value / 1000);
      if (ttlSeconds < 1) throw ctx.usageError(`invalid --ttl "${ttlText}": must be at least 1s`);
    }
    const api = await ctx.api();
    const queued = await api.call('POST', devicePath(ctx.arg('ID'), '/commands'), CommandAnswer, {
      body: { name: ctx.arg('NAME'), args, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) },
    });
    if (ctx.boolean('json')) ctx.print(JSON.stringify(queued, null, 2));
    else ctx.print(`Queued command ${printable(queued.name)} (id ${printable(queued.id)}) for device ${printable(queued.deviceId)}, expires ${formatTime(queued.expiresAt)}.`);
  },
};

export const devicesCommand: CommandSpec = {
  name: 'devices',
  summary: 'Manage devices: list, inspect, suspend, revoke, configure, command',
  description: 'Devices enroll with an enrollment token; from then on they are managed here. Lifecycle: active, suspended, revoked, decommissioned (deleted).',
  subcommands: [
    list,
    show,
    lifecycle('suspend', 'Suspend a device: it cannot connect or renew until resumed', 'Suspended'),
    lifecycle('resume', 'Resume a suspended device', 'Resumed'),
    lifecycle('revoke', 'Revoke a device and all its certificates, for good', 'Revoked'),
    remove,
    { name: 'config', summary: "Set or show a device's desired config", subcommands: [configSet, configShow] },
    command,
  ],
};
