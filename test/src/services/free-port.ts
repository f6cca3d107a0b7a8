import net from 'node:net';

/**
 * Finds `count` distinct free TCP ports on `host` by binding port 0 and closing again.
 * All probe sockets stay open until every port is known, so the ports differ from each
 * other. Another process may still take a port before the service binds it: callers that
 * start a child process retry on "address already in use" (see spawn-service.ts).
 */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = net.createServer();
      servers.push(server);
      ports.push(await listenOnEphemeralPort(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}

/** Finds one free TCP port on `host` (default 127.0.0.1). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await findFreePorts(1, host);
  if (port === undefined) throw new Error('findFreePort: no port was allocated');
  return port;
}

function listenOnEphemeralPort(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`findFreePorts: unexpected address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
