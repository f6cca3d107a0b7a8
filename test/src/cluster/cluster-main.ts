/**
 * `npm run cluster`: Redis, PostgreSQL, influxd, HAProxy, three broker nodes and one control node
 * on loopback (startCluster), a small simulated fleet publishing telemetry through HAProxy, a
 * banner with the dashboard URL and the admin credentials; Ctrl-C stops everything.
 *
 *   npm run cluster [-- --brokers 3 --controls 1 --devices 10 --data-dir ./outpost-cluster]
 *
 * Needs the Debian packages of scripts/install-test-deps.sh. PostgreSQL runs as the postgres
 * user (runuser/setpriv) when started as root. The fleet here is simulated MQTT devices with real
 * certificates (enrolled through HAProxy), not edge-agent processes.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { topics } from '@outpost/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { enrollDevices } from '../services/outpost-server.js';
import { startCluster } from './start-cluster.js';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: '3' },
    controls: { type: 'string', default: '1' },
    devices: { type: 'string', default: '10' },
    'data-dir': { type: 'string' },
  },
});
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const dataDir = values['data-dir'] === undefined ? undefined : path.resolve(values['data-dir']);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const started = Date.now();
  const cluster = await startCluster({
    brokers: Number(values.brokers),
    controls: Number(values.controls),
    ...(dataDir === undefined ? {} : { dir: dataDir }),
    progress: (message) => say(`cluster: ${message}`),
  });
  const clients: MqttClient[] = [];
  const fleet: { timer?: NodeJS.Timeout } = {};
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('\ncluster: stopping the fleet, the nodes, HAProxy, influxd, PostgreSQL and Redis…');
    if (fleet.timer !== undefined) clearInterval(fleet.timer);
    await Promise.allSettled(clients.map((c) => c.endAsync(true)));
    await cluster.stop();
    say('cluster: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  const count = Number(values.devices);
  say(`cluster: enrolling ${count} simulated devices through HAProxy`);
  const identities = await enrollDevices({ operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl }, Array.from({ length: count }, (_, i) => `demo-${String(i + 1).padStart(3, '0')}`));
  for (const d of identities) {
    const client = mqtt.connect(cluster.haproxy.mqttUrl, { clientId: d.deviceId, key: d.keyPem, cert: d.certPem, ca: d.caPem, protocolVersion: 4, clean: false, reconnectPeriod: 1_000 });
    clients.push(client);
  }
  let seq = 0;
  fleet.timer = setInterval(() => {
    seq += 1;
    identities.forEach((d, i) => {
      const client = clients[i];
      if (client?.connected !== true) return;
      const t = Date.now() / 60_000 + i;
      const payload = JSON.stringify({ v: 1, seq, samples: [{ ts: Date.now(), metrics: { temperature: 20 + 5 * Math.sin(t), humidity: 50 + 10 * Math.cos(t) } }] });
      client.publish(topics.telemetry(d.deviceId), payload, { qos: 1 });
    });
  }, 5_000);

  const nodes = cluster.nodes.map((n) => `    ${n.name.padEnd(10)} ${n.role.padEnd(8)} operator ${n.operatorUrl}${n.role === 'broker' ? `, mqtt ${n.mqttUrl}` : ''}`).join('\n');
  say(`
Outpost cluster up in ${Math.round((Date.now() - started) / 1000)} s (Ctrl-C stops everything)

  Dashboard and API (through HAProxy):  ${cluster.operatorUrl}/
  Sign in as:                           admin / ${cluster.adminPassword}
  Devices connect to (HAProxy):         ${cluster.haproxy.mqttUrl}, enroll at ${cluster.haproxy.deviceUrl}
  HAProxy stats:                        http://127.0.0.1:${cluster.haproxy.statsPort}/stats

  Nodes (each on its own loopback address, same ports as HAProxy):
${nodes}

  PostgreSQL  ${cluster.databaseUrl.replace(/\/\/([^:]+):[^@]+@/, '//$1:***@')}
  Redis       ${cluster.redis.url}
  InfluxDB    ${cluster.influx.url} (database ${cluster.influxDb})
  Data        ${cluster.dir}

  Try: kill a broker node (kill -9 <pid>) and watch the devices move in the HAProxy stats.
  Broker pids: ${cluster.nodes.filter((n) => n.role === 'broker').map((n) => `${n.name}=${String(n.process?.child.pid)}`).join(' ')}
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
