/*
 * D2: remote configuration is not a remote shell. The real agent process, a real MQTT broker
 * (mosquitto, mTLS) and the platform's side played by a client: a DesiredConfig whose command
 * collector is not on agent.json's allowCommands is refused with the reason in ReportedConfig;
 * one on the list is applied and runs; a stored config is checked again at start.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@outpost/protocol';
import { startTestBroker } from './mosquitto.js';
import type { TestBroker } from './mosquitto.js';

/** The node that runs the agent: this one, or another (OUTPOST_TEST_AGENT_NODE) to try an older Node. */
const AGENT_NODE = process.env['OUTPOST_TEST_AGENT_NODE'] ?? process.execPath;
const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const DEVICE = 'pi-allowlist-test';
const TIMEOUT_MS = Number(process.env['OUTPOST_TEST_TIMEOUT_MS'] ?? 15_000);
const LIMITS = { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 };

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, output: () => string): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Message {
  topic: string;
  payload: Record<string, unknown>;
}

describe('a remote command collector and the device-local allowlist', () => {
  let broker: TestBroker;
  let platform: MqttClient;
  let agent: ChildProcess;
  let output = '';
  let probe: string;
  const received: Message[] = [];

  const start = (): void => {
    output = '';
    agent = spawn(AGENT_NODE, [AGENT_BIN, 'run', '--state-dir', broker.stateDir, '--reconnect-min', '50ms', '--reconnect-max', '200ms', '--flush-timeout', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    agent.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  };
  const stop = async (): Promise<void> => {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    const closed = new Promise((r) => agent.once('close', r));
    agent.kill('SIGTERM');
    await closed;
  };
  const reported = (version: number): Record<string, unknown> | undefined =>
    received.find((m) => m.topic === topics.configReported(DEVICE) && m.payload['version'] === version)?.payload;
  const desired = (version: number, cmd: string, args: string[] = []): string =>
    JSON.stringify({ v: 1, version, collectors: [{ type: 'command', intervalMs: 100, cmd, args, timeoutMs: 2000, format: 'kv' }], processing: { batch: { maxSamples: 1, maxAgeMs: 100 } }, limits: LIMITS });

  beforeAll(async () => {
    broker = await startTestBroker(DEVICE);
    probe = join(broker.dir, 'probe.sh');
    await writeFile(probe, '#!/bin/sh\necho probe=42\n');
    await chmod(probe, 0o755);
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 200, metrics: { load: { base: 1 } } }], allowCommands: [probe] }));
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await platform.subscribeAsync(`devices/${DEVICE}/#`, { qos: 1 });
    start();
    await until('the agent to connect', () => output.includes('mqtt connected'), () => output);
  }, TIMEOUT_MS * 2);

  afterAll(async () => {
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('close', r));
    }
    await platform?.endAsync();
    await broker?.stop();
  });

  it('refuses a config whose command is not on allowCommands, and says why in ReportedConfig', async () => {
    await platform.publishAsync(topics.configDesired(DEVICE), desired(1, '/bin/echo', ['pwned=1']), { qos: 1, retain: true });
    const report = await until('ReportedConfig 1', () => reported(1), () => output);
    expect(report).toMatchObject({ v: 1, version: 1, applied: false, error: { code: 'CONFIG_COMMAND_NOT_ALLOWED' } });
    expect((report['error'] as { message: string }).message).toContain(`/bin/echo is not on this device's allowCommands in ${join(broker.stateDir, 'agent.json')} (it allows ${probe})`);

    // A bare name is resolved through the system directories and checked the same way.
    await platform.publishAsync(topics.configDesired(DEVICE), desired(2, 'sh', ['-c', 'echo x=1']), { qos: 1, retain: true });
    const bare = await until('ReportedConfig 2', () => reported(2), () => output);
    expect(bare).toMatchObject({ applied: false, error: { code: 'CONFIG_COMMAND_NOT_ALLOWED', message: expect.stringMatching(/\/s?bin\/sh is not on this device's allowCommands/) } });
    expect(output).not.toContain('"cmd":"/bin/echo"');
  });

  it('applies a config whose command is on allowCommands, and runs it', async () => {
    await platform.publishAsync(topics.configDesired(DEVICE), desired(3, probe), { qos: 1, retain: true });
    expect(await until('ReportedConfig 3', () => reported(3), () => output)).toMatchObject({ version: 3, applied: true });
    const batch = await until(
      'telemetry from the allowed command',
      () => received.find((m) => m.topic === topics.telemetry(DEVICE) && JSON.stringify(m.payload).includes('"probe":42')),
      () => output,
    );
    expect(batch).toBeDefined();
  });

  it('checks the stored config again at start: taken off the list, it no longer runs', async () => {
    await stop();
    expect(JSON.parse(await readFile(join(broker.stateDir, 'desired-config.json'), 'utf8'))).toMatchObject({ version: 3 });
    await writeFile(join(broker.stateDir, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 200, metrics: { load: { base: 1 } } }] }));
    received.length = 0;
    start();
    await until('the refusal of the stored config', () => output.includes('the stored desired config is refused now'), () => output);
    // The retained config 3 comes again and is refused for the same reason.
    const report = await until('ReportedConfig 3 again', () => reported(3), () => output);
    expect(report).toMatchObject({ applied: false, error: { code: 'CONFIG_COMMAND_NOT_ALLOWED', message: expect.stringContaining('(it allows no programs)') } });
    await until('telemetry from agent.json', () => received.find((m) => m.topic === topics.telemetry(DEVICE) && JSON.stringify(m.payload).includes('"load"')), () => output);
    expect(received.some((m) => m.topic === topics.telemetry(DEVICE) && JSON.stringify(m.payload).includes('"probe"'))).toBe(false);
  });
});
