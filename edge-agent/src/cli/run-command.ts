/** `outpost-agent run`: runs the enrolled agent until SIGTERM/SIGINT (exit 0) or restart-agent (exit 75). */
import pino from 'pino';
import { OutpostError, parseByteSize } from '@outpost/protocol';
import { OUTBOX_DEFAULTS } from '../outbox/open-outbox.js';
import { defaultHardware } from '../ota/hardware.js';
import { OTA_DEFAULTS } from '../ota/ota-engine.js';
import { RESTART_EXIT_CODE } from '../runtime/command-executor.js';
import { createAgentRuntime } from '../runtime/agent-runtime.js';
import { COMMON_FLAGS, commonPaths } from './cli-context.js';
import type { CliDeps } from './cli-context.js';
import { durationFlag, helpText, parseFlags } from './parse-args.js';
import type { FlagSpec } from './parse-args.js';

const FLAGS: readonly FlagSpec[] = [
  ...COMMON_FLAGS,
  { name: 'reboot-command', value: 'CMD', help: "what the reboot command runs (/bin/sh -c; default 'systemctl reboot')" },
  { name: 'status-interval', value: 'DURATION', help: 'DeviceStatus and status.json period (default 60s)' },
  { name: 'reconnect-min', value: 'DURATION', help: "reconnect backoff floor (default: the config's, else 1s)" },
  { name: 'reconnect-max', value: 'DURATION', help: "reconnect backoff ceiling (default: the config's, else 60s)" },
  { name: 'ack-timeout', value: 'DURATION', help: 'reconnect when a PUBACK does not come within this (default 30s)' },
  { name: 'renew-check', value: 'DURATION', help: 'how often certificate renewal is considered (default 1h)' },
  { name: 'flush-timeout', value: 'DURATION', help: 'on stop, how long to keep sending the outbox (default 5s)' },
  { name: 'stable-after', value: 'DURATION', help: 'running this long without a crash counts as healthy for the launcher even without the broker (default 10m; not while an agent update is on trial)' },
  { name: 'outbox-max-bytes', value: 'SIZE', help: "bound of the outbox on disk, e.g. 64MiB (default: agent.json's outbox.maxBytes, else 64 MiB); when full the oldest samples go, counted" },
  { name: 'log-level', value: 'LEVEL', help: 'debug, info, warn or error (default info)' },
  { name: 'agent-home', value: 'DIR', help: "OTA: the agent's install root with slots a, b and current (default /opt/outpost-agent)" },
  { name: 'hardware', value: 'IDS', help: "OTA: this device's hardware ids, comma-separated (default: the CPU architecture, plus the Raspberry Pi board)" },
  { name: 'ota-retry-min', value: 'DURATION', help: 'OTA: download retry backoff floor (default 1s)' },
  { name: 'ota-retry-max', value: 'DURATION', help: 'OTA: download retry backoff ceiling (default 60s)' },
  { name: 'agent-slots', value: 'MODE', help: "OTA: how the agent's own slots are written: auto (directly when the install root is writable, else through the root helper), direct or helper" },
  { name: 'ota-min-free', value: 'SIZE', help: 'OTA: free disk that must remain beyond an artifact and its unpacking (default 16MiB)' },
];

export const RUN_HELP = helpText(
  'outpost-agent run [--state-dir DIR] [--config FILE] [options]',
  'Runs the enrolled agent: collects, stores in the outbox, sends over MQTT, applies config and commands. SIGTERM stops it gracefully (outbox flushed first).',
  FLAGS,
);

export async function runCommand(args: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseFlags(args, FLAGS);
  const { paths, configFile } = commonPaths(parsed);
  const level = parsed.flags.get('log-level') ?? 'info';
  const log = pino({ level, base: { app: 'outpost-agent' }, redact: ['key', 'keyPem', 'certPem', 'token'] });
  const reconnectMin = durationFlag(parsed, 'reconnect-min');
  const reconnectMax = durationFlag(parsed, 'reconnect-max');
  const reconnect = reconnectMin === undefined && reconnectMax === undefined ? undefined : { minMs: reconnectMin ?? 1_000, maxMs: reconnectMax ?? Math.max(60_000, reconnectMin ?? 0) };
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let exitCode: number | undefined;
  const statusIntervalMs = durationFlag(parsed, 'status-interval');
  const ackTimeoutMs = durationFlag(parsed, 'ack-timeout');
  const renewCheckMs = durationFlag(parsed, 'renew-check');
  const flushTimeoutMs = durationFlag(parsed, 'flush-timeout');
  const stableAfterMs = durationFlag(parsed, 'stable-after');
  const outboxMaxBytes = byteSizeFlag(parsed.flags.get('outbox-max-bytes'), 'outbox-max-bytes', OUTBOX_DEFAULTS.minMaxBytes);
  const hardwareFlag = parsed.flags.get('hardware');
  const hardware = hardwareFlag === undefined ? await defaultHardware() : hardwareFlag.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (hardware.length === 0 || hardware.some((h) => !/^[A-Za-z0-9_.-]{1,64}$/.test(h))) {
    throw new OutpostError('CLI_USAGE_INVALID', `--hardware takes ids of letters, digits, '_', '.' and '-', comma-separated; got '${hardwareFlag ?? ''}'`);
  }
  const retryMinMs = durationFlag(parsed, 'ota-retry-min') ?? OTA_DEFAULTS.retry.minMs;
  const retryMaxMs = durationFlag(parsed, 'ota-retry-max') ?? Math.max(OTA_DEFAULTS.retry.maxMs, retryMinMs);
  if (retryMaxMs < retryMinMs) throw new OutpostError('CLI_USAGE_INVALID', `--ota-retry-max (${retryMaxMs} ms) must not be below --ota-retry-min (${retryMinMs} ms)`);
  const minFreeBytes = byteSizeFlag(parsed.flags.get('ota-min-free'), 'ota-min-free', 0);
  const agentSlots = parsed.flags.get('agent-slots') ?? 'auto';
  if (agentSlots !== 'auto' && agentSlots !== 'direct' && agentSlots !== 'helper') {
    throw new OutpostError('CLI_USAGE_INVALID', `--agent-slots takes auto, direct or helper, not '${agentSlots}'`);
  }
  const runtime = await createAgentRuntime({
    paths,
    configFile,
    agentVersion: deps.agentVersion,
    dataPath: deps.dataPath,
    log,
    rebootCommand: parsed.flags.get('reboot-command') ?? 'systemctl reboot',
    ...(statusIntervalMs === undefined ? {} : { statusIntervalMs }),
    ...(ackTimeoutMs === undefined ? {} : { ackTimeoutMs }),
    ...(renewCheckMs === undefined ? {} : { renewCheckMs }),
    ...(flushTimeoutMs === undefined ? {} : { flushTimeoutMs }),
    ...(stableAfterMs === undefined ? {} : { stableAfterMs }),
    ...(outboxMaxBytes === undefined ? {} : { outboxMaxBytes }),
    ...(reconnect === undefined ? {} : { reconnect }),
    onRestartRequested: () => stop(RESTART_EXIT_CODE, 'restart-agent'),
    agentHome: parsed.flags.get('agent-home') ?? '/opt/outpost-agent',
    hardware,
    ota: { retry: { ...OTA_DEFAULTS.retry, minMs: retryMinMs, maxMs: retryMaxMs }, agentSlots, ...(minFreeBytes === undefined ? {} : { minFreeBytes }) },
  });
  function stop(code: number, why: string): void {
    if (exitCode !== undefined) return;
    exitCode = code;
    log.info({ why }, 'stopping');
    runtime.stop().then(
      () => finish(code),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'stop failed');
        finish(1);
      },
    );
  }
  deps.signals.once('SIGTERM', () => stop(0, 'SIGTERM'));
  deps.signals.once('SIGINT', () => stop(0, 'SIGINT'));
  await runtime.start();
  return finished;
}

/** A size flag (`65536`, `512KiB`, `64MiB`) of at least `min` bytes. */
function byteSizeFlag(text: string | undefined, name: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const parsed = parseByteSize(text);
  if (!parsed.ok) throw new OutpostError('CLI_USAGE_INVALID', `--${name}: ${parsed.reason}`);
  if (parsed.value < min) throw new OutpostError('CLI_USAGE_INVALID', `--${name} must be at least ${min} bytes (4 KiB): the outbox needs room for a few batches, got ${parsed.value}`);
  return parsed.value;
}
