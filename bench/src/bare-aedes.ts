/**
 * The floor of Outpost's broker stack, for the broker benchmark: aedes over `node:tls` with a
 * client certificate required, in its own process, and nothing else — no ACL, validation,
 * spool, ingest, alerts, metrics or registry; PUBACK as soon as aedes has the message in memory
 * (as mosquitto with `persistence false`). What this process spends per message is what any
 * broker built on aedes and Node's TLS spends before its own work; Outpost's figure minus this
 * one is what Outpost's own work costs.
 *
 *   node bench/dist/src/bare-aedes.js PORT DIR    (DIR holds server.pem, server.key, clients-ca.pem)
 *
 * Prints `listening` on stdout once it accepts connections.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const dir = process.argv[3];
if (!Number.isInteger(port) || port <= 0 || dir === undefined) {
  console.error('usage: bare-aedes.js PORT DIR');
  process.exit(2);
}

const aedes = await Aedes.createBroker();
const server = createServer(
  {
    key: readFileSync(join(dir, 'server.key')),
    cert: readFileSync(join(dir, 'server.pem')),
    ca: readFileSync(join(dir, 'clients-ca.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (socket) => aedes.handle(socket),
);
server.listen(port, '127.0.0.1', () => console.log('listening'));
const stop = (): void => {
  server.close();
  aedes.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
