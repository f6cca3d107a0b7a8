/**
 * Before the demo starts anything: are its listener ports free? A busy port is one clear line
 * naming the variable that moves it, instead of a stack trace from deep inside a listener.
 */
import net from 'node:net';
import { OutpostError } from '@outpost/protocol';
import type { OutpostConfig } from '@outpost/kernel';

export interface ListenerToCheck {
  readonly variable: string;
  readonly host: string;
  readonly port: number;
}

export function listenersOf(config: OutpostConfig): ListenerToCheck[] {
  return [
    { variable: 'OUTPOST_HTTP_PORT', host: config.http.host, port: config.http.port },
    { variable: 'OUTPOST_DEVICE_PORT', host: config.device.host, port: config.device.port },
    { variable: 'OUTPOST_MQTT_PORT', host: config.mqtt.host, port: config.mqtt.port },
  ];
}

/** Throws `DEMO_PORT_BUSY` for the first configured (non-zero) port that cannot be bound. */
export async function checkPortsFree(listeners: readonly ListenerToCheck[]): Promise<void> {
  for (const listener of listeners) {
    if (listener.port === 0) continue;
    const problem = await tryBind(listener.host, listener.port);
    if (problem === undefined) continue;
    if (problem.code === 'EADDRINUSE' || problem.code === 'EACCES') {
      const why = problem.code === 'EADDRINUSE' ? 'is already in use' : 'may not be bound by this user';
      throw new OutpostError(
        'DEMO_PORT_BUSY',
        `port ${listener.port} on ${listener.host} ${why}: stop what holds it, or choose another port with ${listener.variable}=<port>`,
        { cause: problem },
      );
    }
    throw new OutpostError('DEMO_LISTEN_FAILED', `cannot listen on ${listener.host}:${listener.port} (${listener.variable}): ${problem.message}`, { cause: problem });
  }
}

/** If `err` (or a cause of it) is "address in use", the variable to change; for errors raised while starting. */
export function busyPortHint(err: unknown, listeners: readonly ListenerToCheck[]): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const { code, port } = e as { code?: unknown; port?: unknown };
    if (code !== 'EADDRINUSE') continue;
    const listener = listeners.find((l) => l.port === port);
    return listener === undefined
      ? `a port is already in use; choose others with ${listeners.map((l) => l.variable).join(', ')}`
      : `port ${listener.port} is already in use; choose another with ${listener.variable}=<port>`;
  }
  return undefined;
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
