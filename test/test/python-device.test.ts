/*
 * A second, independent client of the device protocol (docs/device-protocol.md): the Python example
 * device (examples/python-device/device.py: Python's ssl and urllib, the openssl command, Debian's
 * python3-paho-mqtt) against a real `outpost server`. It enrolls with a token over HTTPS, connects
 * over mutual TLS, and the operator API shows what it did: the device online, its telemetry stored,
 * its desired config reported as applied, its commands answered — and, stopped, offline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputTail, serviceTimeoutMs, waitFor } from '../src/index.js';
import { Api, startOutpostServer, type OutpostServer } from './agent-harness.js';

const DEVICE_PY = fileURLToPath(new URL('../../examples/python-device/device.py', import.meta.url));
/** Debian's interpreter: python3-paho-mqtt (scripts/install-test-deps.sh) is installed for it. */
const PYTHON = '/usr/bin/python3';
const TIMEOUT_MS = serviceTimeoutMs(30_000);
const DEVICE_ID = 'py-device-1';

interface CommandView {
  id: string;
  state: string;
  result: { ok: boolean; output?: string; error?: { code: string; message: string } } | null;
}

describe('the Python example device against a real server', () => {
  let server: OutpostServer;
  let api: Api;
  let work: string;
  let device: ChildProcess | undefined;
  const output = new OutputTail(200);
  const until = <T>(description: string, probe: () => Promise<T | undefined>): Promise<T> =>
    waitFor(probe, {
      description,
      timeoutMs: TIMEOUT_MS,
      abortIf: () => (device !== undefined && device.exitCode !== null ? new Error(`device.py exited ${device.exitCode}:\n${output.text()}`) : undefined),
    });

  beforeAll(async () => {
    server = await startOutpostServer();
    api = await Api.login(server.info.url);
    work = await mkdtemp(join(tmpdir(), 'outpost-python-device-'));
  }, TIMEOUT_MS);

  afterAll(async () => {
    if (device !== undefined && device.exitCode === null && device.signalCode === null) {
      const exited = new Promise((resolve) => device?.once('exit', resolve));
      device.kill('SIGKILL');
      await exited;
    }
    await server?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  let caFingerprint = '';
  /** device.py run to its end (an enrollment that fails), with a fresh state dir. */
  const enrollOnly = (name: string, fingerprint: string): { code: number | null; out: string } => {
    const result = spawnSync(PYTHON, [DEVICE_PY, '--server', server.info.deviceUrl, '--token-file', join(work, 'token'), '--ca-fingerprint', fingerprint, '--state-dir', join(work, name)], {
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
    });
    return { code: result.status, out: `${result.stdout}${result.stderr}` };
  };

  it('enrolls with a token and comes online over mutual TLS', async () => {
    const token = await api.ok<{ token: string; caFingerprint: string }>('POST', '/enrollment-tokens', { group: 'python', maxUses: 1, ttlSeconds: 3600 });
    caFingerprint = token.caFingerprint;
    await writeFile(join(work, 'token'), `${token.token}\n`, { mode: 0o600 });
    device = spawn(
      PYTHON,
      [DEVICE_PY, '--server', server.info.deviceUrl, '--token-file', join(work, 'token'), '--ca-fingerprint', token.caFingerprint, '--state-dir', join(work, 'state'), '--device-id', DEVICE_ID, '--interval', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    device.stdout?.on('data', (b: Buffer) => output.push('stdout', b));
    device.stderr?.on('data', (b: Buffer) => output.push('stderr', b));
    const online = await until('the device to be enrolled and online', async () => {
      const answer = await api.call<{ id: string; group: string; status: string; online: boolean; agentVersion: string | null }>('GET', `/devices/${DEVICE_ID}`);
      return answer.status === 200 && answer.body.online ? answer.body : undefined;
    });
    expect([online.id, online.group, online.status, online.agentVersion]).toEqual([DEVICE_ID, 'python', 'active', '0.1.0']);
    expect(output.text()).toContain(`enrolled as ${DEVICE_ID}`);
  });

  it('refuses a CA that does not match the pin before sending the token, and exits 3 on a used-up token', () => {
    const pinned = enrollOnly('state-pin', `sha256:${'0'.repeat(64)}`);
    expect(pinned.code).toBe(1);
    expect(pinned.out).toContain(`no CA certificate of ${server.info.deviceUrl} has the fingerprint sha256:${'0'.repeat(64)}; not sending the token`);
    const usedUp = enrollOnly('state-again', caFingerprint);
    expect(usedUp.code, usedUp.out).toBe(3);
    expect(usedUp.out).toMatch(/enrollment refused: enrollment token \S+ was used 1 of 1 times; ask an operator for a new one \(ENROLL_TOKEN_USED_UP, HTTP 403\)/);
  });

  it('sends telemetry the platform stores', async () => {
    const latest = await until('telemetry from the device', async () => {
      const answer = await api.ok<{ metrics: Record<string, { ts: number; value: unknown }> }>('GET', `/devices/${DEVICE_ID}/latest`);
      return answer.metrics.temperature !== undefined && answer.metrics.uptime_s !== undefined ? answer.metrics : undefined;
    });
    expect(typeof latest.temperature?.value).toBe('number');
    expect(Math.abs((latest.temperature?.ts ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('receives its desired config and reports it applied', async () => {
    const put = await api.ok<{ version: number }>('PUT', `/devices/${DEVICE_ID}/config`, { collectors: [{ type: 'system', intervalMs: 2000 }] });
    const reported = await until('the device to report the config', async () => {
      const config = await api.ok<{ version: number; reported: { version: number; applied: boolean } | null }>('GET', `/devices/${DEVICE_ID}/config`);
      return config.reported !== null && config.reported.version === put.version ? config.reported : undefined;
    });
    expect(reported.applied).toBe(true);
    expect(output.text()).toContain(`desired config version ${put.version}: applied=True, telemetry every 2 s`);
  });

  it('answers commands: a known one with its output, an unknown one with a coded error', async () => {
    const echo = await api.ok<CommandView>('POST', `/devices/${DEVICE_ID}/commands`, { name: 'echo', args: { greeting: 'hello', n: 2 } });
    const unknown = await api.ok<CommandView>('POST', `/devices/${DEVICE_ID}/commands`, { name: 'reboot' });
    const done = (id: string) => until(`command ${id} to finish`, async () => {
      const view = (await api.ok<{ items: CommandView[] }>('GET', `/devices/${DEVICE_ID}/commands`)).items.find((c) => c.id === id);
      return view !== undefined && view.result !== null ? view : undefined;
    });
    const echoed = await done(echo.id);
    expect([echoed.state, echoed.result?.ok, echoed.result?.output]).toEqual(['succeeded', true, '{"greeting": "hello", "n": 2}']);
    const refused = await done(unknown.id);
    expect([refused.state, refused.result?.ok, refused.result?.error?.code]).toEqual(['failed', false, 'COMMAND_UNKNOWN']);
  });

  it('hears why the platform refused a batch (a PublishError on devices/{id}/errors) and the batch is not stored', async () => {
    const command = await api.ok<CommandView>('POST', `/devices/${DEVICE_ID}/commands`, { name: 'bad_sample' });
    await until('the device to log the PublishError', async () =>
      output.text().includes(`the platform refused a publish on devices/${DEVICE_ID}/telemetry: NAME_RESERVED: `) ? true : undefined,
    );
    const view = (await api.ok<{ items: CommandView[] }>('GET', `/devices/${DEVICE_ID}/commands`)).items.find((c) => c.id === command.id);
    expect(view?.result?.output).toMatch(/^sent batch \d+ with the reserved metric name 'time'$/);
    const latest = await api.ok<{ metrics: Record<string, unknown> }>('GET', `/devices/${DEVICE_ID}/latest`);
    expect(Object.keys(latest.metrics)).not.toContain('time');
  });

  it('stopped with SIGTERM, it says goodbye: exit 0 and the device offline', async () => {
    const exited = new Promise<number | null>((resolve) => device?.once('exit', (code) => resolve(code)));
    device?.kill('SIGTERM');
    expect(await exited).toBe(0);
    device = undefined;
    await until('the device to be offline', async () => {
      const answer = await api.ok<{ online: boolean }>('GET', `/devices/${DEVICE_ID}`);
      return answer.online ? undefined : true;
    });
  });
});
