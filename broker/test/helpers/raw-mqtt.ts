/**
 * A bare MQTT 3.1.1 client over TLS (mqtt-packet): for what mqtt.js will not send (an empty
 * client id with clean session 0) and for TLS session resumption.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { TlsIdentity } from './mqtt-client.js';

export interface RawConnect {
  readonly returnCode: number;
  readonly resumed: boolean;
  readonly session: Buffer | undefined;
  readonly socket: TLSSocket;
}

export async function rawConnect(url: string, identity: TlsIdentity, packet: { clientId: string; clean: boolean }, options: { session?: Buffer; timeoutMs?: number } = {}): Promise<RawConnect> {
  const { hostname, port } = new URL(url);
  const socket = tlsConnect({ host: hostname, port: Number(port), key: identity.keyPem, cert: identity.certPem, ca: identity.caPem, ...(options.session === undefined ? {} : { session: options.session }) });
  let session: Buffer | undefined;
  socket.on('session', (s: Buffer) => {
    session = s;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const connack = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CONNACK')), options.timeoutMs ?? 5_000);
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd === 'connack') {
        clearTimeout(timer);
        resolve(p.returnCode ?? -1);
      }
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before CONNACK'));
    });
  });
  connack.catch(() => undefined);
  socket.write(connectPacket(packet.clientId, packet.clean));
  const returnCode = await connack;
  return { returnCode, resumed: socket.isSessionReused(), session, socket };
}

/**
 * CONNECT (3.1.1) written by hand: mqtt-packet refuses to generate an empty client id with
 * clean session 0, which is exactly what a test of the broker's answer needs.
 */
function connectPacket(clientId: string, clean: boolean): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, clean ? 0x02 : 0x00, 0x00, 0x1e]);
  const payload = Buffer.concat([Buffer.from([id.length >> 8, id.length & 0xff]), id]);
  const remaining = variable.length + payload.length;
  if (remaining > 127) throw new RangeError('client id too long for this test helper');
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}
