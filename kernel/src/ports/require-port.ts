import { OutpostError } from '@outpost/protocol';
import { PORT_PROVIDERS, type PortName, type Ports } from './ports.js';

/**
 * The port `name` among those the part `consumer` was given, or PART_PORT_MISSING naming the
 * part that provides it, which the composition must place before `consumer`.
 */
export function requirePort<N extends PortName>(ports: Partial<Ports>, name: N, consumer: string): Ports[N] {
  const port: Partial<Ports>[N] = ports[name];
  if (port === undefined) {
    const provider = PORT_PROVIDERS[name];
    throw new OutpostError('PART_PORT_MISSING', `the ${consumer} needs the ${name} port: compose the ${provider} part before the ${consumer}`);
  }
  return port;
}
