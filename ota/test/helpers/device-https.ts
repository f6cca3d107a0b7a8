/** GET on the device listener as a device (its client certificate), or with none, reading the whole answer. */
import { request as httpsRequest } from 'node:https';
import type { DeviceCredentials } from '@outpost/e2e';

export interface DeviceAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export function deviceGet(url: string, caPem: string, client: Pick<DeviceCredentials, 'keyPem' | 'certPem'> | undefined, headers: Record<string, string> = {}): Promise<DeviceAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', ca: caPem, headers, agent: false, ...(client === undefined ? {} : { key: client.keyPem, cert: client.certPem }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function jsonOf(answer: DeviceAnswer): Record<string, unknown> {
  return JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
}
