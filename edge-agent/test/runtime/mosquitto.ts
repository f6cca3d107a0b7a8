/**
 * A real mosquitto broker with mTLS (client certificate required) and an agent state dir
 * enrolled against its throwaway CA, for agent tests that need to play the platform's side of
 * MQTT (publish a TrustSet, a command, a PublishError) where the platform offers no route yet.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export const MOSQUITTO = '/usr/sbin/mosquitto';

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function issue(cwd: string, name: string, cn: string, ext: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=Outpost device/CN=${cn}`], cwd);
  execFileSync('sh', ['-c', `printf '${ext}\\n' > ${name}.ext`], { cwd });
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], cwd);
}

export interface TestBroker {
  readonly dir: string;
  readonly url: string;
  readonly stateDir: string;
  readonly deviceId: string;
  /** A client that plays the platform (its own certificate). */
  connectPlatform(): Promise<MqttClient>;
  /** Freezes the broker (SIGSTOP): connections stay open, nothing is answered — an unreachable server. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

export async function startTestBroker(deviceId: string): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-mosquitto-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test Platform CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  issue(dir, 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  issue(dir, 'device', deviceId, 'extendedKeyUsage=clientAuth');
  issue(dir, 'platform', 'platform-test', 'extendedKeyUsage=clientAuth');
  const port = await freePort();
  await writeFile(
    join(dir, 'mosquitto.conf'),
    [
      'persistence false',
      // Run as whoever runs the tests (as root, mosquitto would drop to a user that cannot read the temp dir).
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous true',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const url = `mqtts://127.0.0.1:${port}`;
  const ca = await readFile(join(dir, 'ca.pem'), 'utf8');

  // The agent's state dir, as enrollment would leave it.
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(join(stateDir, 'key.pem'), await readFile(join(dir, 'device.key')), { mode: 0o600 });
  await writeFile(join(stateDir, 'cert.pem'), await readFile(join(dir, 'device.pem')));
  await writeFile(join(stateDir, 'ca.pem'), ca);
  await writeFile(
    join(stateDir, 'identity.json'),
    JSON.stringify({
      v: 1,
      deviceId,
      mqttUrl: url,
      deviceApiUrl: 'https://127.0.0.1:9',
      limits: { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 },
      enrolledAt: Date.now(),
    }),
  );

  async function connectPlatform(): Promise<MqttClient> {
    const client = mqtt.connect(url, {
      clientId: `platform-test-${process.pid}`,
      ca,
      cert: await readFile(join(dir, 'platform.pem'), 'utf8'),
      key: await readFile(join(dir, 'platform.key'), 'utf8'),
      reconnectPeriod: 200,
      protocolVersion: 4,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  // Ready once a client gets through.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const probe = await connectPlatform();
      await probe.endAsync();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mosquitto did not start: ${(err as Error).message}\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    dir,
    url,
    stateDir,
    deviceId,
    connectPlatform,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('close', resolve));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
