import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { BehaviorSubject, filter, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartFactory, TlsCredentials } from '@outpost/kernel';
import { startTestPlatform } from '../helpers/test-platform.js';

/** A self-signed server certificate from the openssl CLI, standing in for the registry's CA. */
async function selfSigned(dir: string, cn: string): Promise<TlsCredentials> {
  const key = join(dir, `${cn}.key`);
  const cert = join(dir, `${cn}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert, '-days', '1'], { stdio: 'ignore' });
  const certPem = await readFile(cert, 'utf8');
  return { cert: certPem, key: await readFile(key, 'utf8'), ca: certPem };
}

function getPeer(url: string, ca: string): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/device/v1/hello`, { ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        resolve({ status: res.statusCode ?? 0, body, cn: String(peer.subject.CN) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('device HTTPS listener', () => {
  let dir: string;
  let first: TlsCredentials;
  let second: TlsCredentials;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-tls-'));
    first = await selfSigned(dir, 'first');
    second = await selfSigned(dir, 'second');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('stays closed without a tls port', async () => {
    const t = await startTestPlatform();
    try {
      expect(t.platform.device.hasCredentials).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('starts once the tls port supplies credentials, serves part routes, and swaps certificates live', async () => {
    const credentials = new BehaviorSubject<TlsCredentials | undefined>(undefined);
    const changes: Observable<TlsCredentials> = credentials.pipe(filter((c): c is TlsCredentials => c !== undefined));
    const registry: PartFactory = () => ({
      name: 'fake-registry',
      async start() {
        credentials.next(first);
      },
      ready: () => 'ok',
      async close() {},
      provides: { tls: { current: () => credentials.value, changes } },
      routes({ device }) {
        device.get('/device/v1/hello', async () => ({ hello: 'device' }));
      },
    });
    const t = await startTestPlatform({ parts: [registry] });
    try {
      const url = t.platform.deviceUrl();
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const before = await getPeer(url ?? '', first.ca);
      expect(before).toEqual({ status: 200, body: '{"hello":"device"}', cn: 'first' });

      credentials.next(second);
      const after = await getPeer(url ?? '', second.ca);
      expect(after.cn).toBe('second');
      await expect(getPeer(url ?? '', first.ca)).rejects.toThrow();
    } finally {
      await t.close();
    }
  });
});
