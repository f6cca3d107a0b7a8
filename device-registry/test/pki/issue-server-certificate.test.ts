import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { ConnectionOptions, Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair, issueDeviceCertificate, issueServerCertificate } from '../../src/pki/index.js';
import type { CaMaterial, IssuedCertificate } from '../../src/pki/index.js';
import { caught, DAY_MS, SKEW_MS, throwawayCa } from './fixtures.js';
import { opensslWorkspace } from './openssl.js';

/** Connects, reads until the server ends the stream; rejects on any TLS error. */
async function exchange(options: ConnectionOptions): Promise<string> {
  const socket = connect(options);
  try {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'end');
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    socket.destroy();
  }
}

describe('issueServerCertificate', () => {
  const openssl = opensslWorkspace();
  const now = Date.now();
  const names = ['outpost.local', 'localhost', '127.0.0.1', '::1'];
  let ca: CaMaterial & IssuedCertificate;
  let server: { keyPem: string } & IssuedCertificate;

  beforeAll(async () => {
    ca = await throwawayCa();
    server = await issueServerCertificate(ca, { names, validityDays: 30, now });
    openssl.write('ca.pem', ca.certPem);
    openssl.write('server.pem', server.certPem);
  });
  afterAll(() => openssl.close());

  it('lists every name in subjectAltName: DNS names as DNS, addresses as IP', () => {
    const text = openssl.ok(['x509', '-in', 'server.pem', '-noout', '-text']);
    expect(text).toContain('DNS:outpost.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(text).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(openssl.ok(['x509', '-in', 'server.pem', '-noout', '-subject']).trim()).toBe('subject=CN = outpost.local');
  });

  it('is fit for a TLS server and matches its names (openssl verify -purpose sslserver -verify_ip / -verify_hostname)', () => {
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', 'server.pem']).trim()).toBe('server.pem: OK');
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-verify_ip', '::1', 'server.pem']).trim()).toBe('server.pem: OK');
    expect(openssl.ok(['verify', '-CAfile', 'ca.pem', '-verify_hostname', 'outpost.local', 'server.pem']).trim()).toBe('server.pem: OK');
    expect(openssl.run(['verify', '-CAfile', 'ca.pem', '-verify_hostname', 'evil.example', 'server.pem']).status).not.toBe(0);
  });

  it('returns a PKCS#8 key for the certificate, valid for validityDays', () => {
    expect(server.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    openssl.write('server.key', server.keyPem);
    expect(openssl.ok(['x509', '-in', 'server.pem', '-noout', '-modulus'])).toBe(openssl.ok(['rsa', '-in', 'server.key', '-noout', '-modulus']));
    expect(server.notAfter - server.notBefore).toBe(30 * DAY_MS + SKEW_MS);
  });

  describe('over real TLS, with a device client certificate', () => {
    let tlsServer: Server;
    let port: number;
    let device: { certPem: string; keyPem: string };

    beforeAll(async () => {
      const keys = await generateRsaKeyPair();
      const issued = await issueDeviceCertificate(ca, { publicKeyPem: keys.publicKeyPem, deviceId: 'pi-tls', validityDays: 1, now });
      device = { certPem: issued.certPem, keyPem: keys.privateKeyPem };
      tlsServer = createServer(
        { cert: server.certPem, key: server.keyPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true },
        (socket) => {
          const peer = socket.getPeerCertificate();
          socket.end(`hello ${String(peer.subject.CN)}`);
        },
      );
      tlsServer.listen(0, '127.0.0.1');
      await once(tlsServer, 'listening');
      port = (tlsServer.address() as AddressInfo).port;
    });
    afterAll(async () => {
      tlsServer.close();
      await once(tlsServer, 'close');
    });

    it('connects to 127.0.0.1: the client trusts the CA and the IP SAN passes checkServerIdentity', async () => {
      const answer = await exchange({ host: '127.0.0.1', port, ca: [ca.certPem], cert: device.certPem, key: device.keyPem });
      expect(answer).toBe('hello pi-tls');
    });

    it('connects by the DNS name localhost', async () => {
      const answer = await exchange({ host: '127.0.0.1', servername: 'localhost', port, ca: [ca.certPem], cert: device.certPem, key: device.keyPem });
      expect(answer).toBe('hello pi-tls');
    });

    it('fails the identity check for a name it does not carry', async () => {
      const error = await caught(() =>
        exchange({ host: '127.0.0.1', servername: 'evil.example', port, ca: [ca.certPem], cert: device.certPem, key: device.keyPem }),
      );
      expect(error).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    });

    it('is not trusted by a client pinned to another CA', async () => {
      const other = await throwawayCa('other CA');
      const error = await caught(() => exchange({ host: '127.0.0.1', port, ca: [other.certPem], cert: device.certPem, key: device.keyPem }));
      // Node's server sends the CA it trusts along with its certificate, hence "self-signed in chain".
      expect(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']).toContain((error as { code?: string }).code);
    });
  });

  it.each([
    ['no names', []],
    ['a name that is neither a host nor an address', ['outpost local']],
    ['an IPv6 address with a zone', ['fe80::1%eth0']],
    ['a first name over 64 characters (the CN)', [`${'a'.repeat(60)}.example`]],
  ])('refuses %s', async (_label, badNames) => {
    expect(await caught(() => issueServerCertificate(ca, { names: badNames, validityDays: 1, now }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('writes each name once', async () => {
    const issued = await issueServerCertificate(ca, { names: ['localhost', 'LOCALHOST', '127.0.0.1', '127.0.0.1'], validityDays: 1, now });
    openssl.write('dedup.pem', issued.certPem);
    expect(openssl.ok(['x509', '-in', 'dedup.pem', '-noout', '-ext', 'subjectAltName'])).toContain('DNS:localhost, IP Address:127.0.0.1\n');
  });
});
