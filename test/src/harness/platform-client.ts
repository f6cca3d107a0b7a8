/** The platform's HTTP APIs as the tests use them: operator API (admin) and device enrollment. */
import { request as httpsRequest } from 'node:https';
import { csrFor, rsaKeyPair, type KeyPair } from './test-pki.js';
import { TEST_ADMIN_PASSWORD } from './start-platform.js';


export interface DeviceCredentials {
  readonly deviceId: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
  readonly serial: string;
  readonly keys: KeyPair;
}

export interface PlatformClient {
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  enroll(deviceId: string): Promise<DeviceCredentials>;
  renew(device: DeviceCredentials): Promise<DeviceCredentials>;
}

export async function platformClient(operatorUrl: string, deviceUrl: () => string | undefined): Promise<PlatformClient> {
  const session: { token?: string } = {};
  const api: PlatformClient['api'] = async (method, path, body) => {
    const headers: Record<string, string> = {};
    if (session.token !== undefined) headers['authorization'] = `Bearer ${session.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${operatorUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 && (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text };
  };
  const login = await api('POST', '/api/v1/auth/login', { username: 'admin', password: TEST_ADMIN_PASSWORD });
  session.token = (login.body as { token: string }).token;
  const chain = (await api('GET', '/api/v1/ca')).body as { chainPem: string };
  const enrollToken = (await api('POST', '/api/v1/enrollment-tokens', { group: 'test', maxUses: 1000, ttlSeconds: 3600 })).body as { token: string };

  const deviceCall = (path: string, body: unknown, client?: { key: string; cert: string }): Promise<{ status: number; body: unknown }> => {
    const base = deviceUrl();
    if (base === undefined) throw new Error('device listener not bound');
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, { method: 'POST', ca: chain.chainPem, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, ...client }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  };
  const credentialsOf = (answer: unknown, keys: KeyPair): DeviceCredentials => {
    const a = answer as { deviceId: string; certificate: string; caChain: string; serial: string };
    return { deviceId: a.deviceId, certPem: a.certificate, caPem: a.caChain, serial: a.serial, keyPem: keys.privateKeyPem, keys };
  };

  return {
    api,
    async enroll(deviceId) {
      const keys = rsaKeyPair();
      const res = await deviceCall('/device/v1/enroll', { v: 1, token: enrollToken.token, csr: csrFor(keys, deviceId), deviceId });
      if (res.status !== 201 && res.status !== 200) throw new Error(`enroll ${deviceId}: ${res.status} ${JSON.stringify(res.body)}`);
      return credentialsOf(res.body, keys);
    },
    async renew(device) {
      const keys = rsaKeyPair();
      const res = await deviceCall('/device/v1/renew', { v: 1, csr: csrFor(keys, device.deviceId) }, { key: device.keyPem, cert: device.certPem });
      if (res.status !== 200) throw new Error(`renew ${device.deviceId}: ${res.status} ${JSON.stringify(res.body)}`);
      return credentialsOf(res.body, keys);
    },
  };
}
