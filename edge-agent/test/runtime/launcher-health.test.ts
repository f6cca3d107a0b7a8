/*
 * The launcher's health contract with real processes: install/launcher.sh (as systemd runs it)
 * starts the built agent from slot b against a real MQTT broker (mosquitto, mTLS). A healthy
 * agent resets boot-attempts once connected, so restarting it any number of times never rolls it
 * back; nor does an offline one that runs --stable-after without a crash; an agent that never
 * connects and keeps dying before that is still rolled back to slot a after 3 starts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from './mosquitto.js';
import type { TestBroker } from './mosquitto.js';

/** The node that runs the agent: this one, or another (OUTPOST_TEST_AGENT_NODE) to try an older Node. */
const AGENT_NODE = process.env['OUTPOST_TEST_AGENT_NODE'] ?? process.execPath;
const AGENT_DIR = fileURLToPath(new URL('../..', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../install/launcher.sh', import.meta.url));
const DEVICE = 'pi-launcher-test';
const TIMEOUT_MS = Number(process.env['OUTPOST_TEST_TIMEOUT_MS'] ?? 20_000);

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, output: () => string): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the launcher with the real agent', () => {
  let broker: TestBroker;
  let root: string;
  let state: string;
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    broker = await startTestBroker(DEVICE);
    root = join(broker.dir, 'root');
    state = broker.stateDir;
    const home = join(root, 'opt/outpost-agent');
    await mkdir(join(home, 'a/dist/src'), { recursive: true });
    // Slot a: a stand-in that says which slot ran. Slot b: this workspace's built agent.
    await writeFile(join(home, 'a/dist/src/main.js'), "process.stdout.write('slot a ran\\n');\n");
    await symlink(AGENT_DIR, join(home, 'b'));
    await symlink('b', join(home, 'current'));
    await writeFile(join(state, 'agent.json'), JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 100, metrics: { t: { base: 20 } } }] }));
  });

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await broker?.stop();
  });

  function launch(stateDir: string, extra: readonly string[] = []): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    let text = '';
    const child = spawn('sh', [LAUNCHER, '--root', root, '--state-dir', stateDir, '--', '--reconnect-min', '100ms', '--reconnect-max', '200ms', '--flush-timeout', '1s', ...extra], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', OUTPOST_AGENT_NODE: AGENT_NODE, OUTPOST_AGENT_MAX_BOOT_ATTEMPTS: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.stdout?.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (text += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exited };
  }
  const attempts = async (dir: string): Promise<string> => (await readFile(join(dir, 'boot-attempts'), 'utf8').catch(() => '')).trim();

  it('a healthy agent restarted 6 times stays in slot b: it resets boot-attempts once connected', async () => {
    for (let start = 1; start <= 6; start += 1) {
      const run = launch(state);
      await until(`start ${start}: the launcher to count it`, async () => (await attempts(state)) === '1', run.output);
      await until(`start ${start}: the agent to connect and mark itself healthy`, async () => (await attempts(state)) === '0' && run.output().includes('marked healthy'), run.output);
      expect(run.output()).not.toContain('slot a ran');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('b');
  }, TIMEOUT_MS * 8);

  it('an agent offline for long is restarted any number of times without a rollback: running --stable-after without a crash marks it healthy', async () => {
    const offline = join(broker.dir, 'state-offline');
    await cp(state, offline, { recursive: true });
    const identity = JSON.parse(await readFile(join(offline, 'identity.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(offline, 'identity.json'), JSON.stringify({ ...identity, mqttUrl: 'mqtts://127.0.0.1:9' }));
    await writeFile(join(offline, 'boot-attempts'), '0\n');
    for (let start = 1; start <= 5; start += 1) {
      const run = launch(offline, ['--stable-after', '1s']);
      await until(`start ${start}: the launcher to count it`, async () => (await attempts(offline)) === '1', run.output);
      await until(`start ${start}: marked healthy without the broker`, async () => (await attempts(offline)) === '0' && run.output().includes('without a crash (the broker not reached yet): marked healthy'), run.output);
      expect(run.output()).not.toContain('slot a ran');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('b');
  }, TIMEOUT_MS * 6);

  it('an agent that never connects is rolled back to slot a after 3 starts', async () => {
    // The same device, but its broker address is a port nobody listens on.
    const lost = join(broker.dir, 'state-lost');
    await cp(state, lost, { recursive: true });
    const identity = JSON.parse(await readFile(join(lost, 'identity.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(lost, 'identity.json'), JSON.stringify({ ...identity, mqttUrl: 'mqtts://127.0.0.1:9' }));
    await writeFile(join(lost, 'boot-attempts'), '0\n');
    for (let start = 1; start <= 3; start += 1) {
      const run = launch(lost);
      await until(`start ${start}: the agent to fail to connect`, () => run.output().includes('mqtt disconnected; reconnecting'), run.output);
      expect(await attempts(lost)).toBe(String(start));
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    }
    const fourth = launch(lost);
    expect(await fourth.exited).toBe(0);
    expect(fourth.output()).toContain('slot b started 3 times without becoming healthy: rolling back to slot a');
    expect(fourth.output()).toContain('slot a ran');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
  }, TIMEOUT_MS * 5);
});
