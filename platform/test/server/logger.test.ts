import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';

function capture(): { stream: Writable; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('') };
}

describe('logger', () => {
  it('redacts passwords, tokens, keys, certificates and authorization headers', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info(
      {
        password: 'hunter2-hunter2',
        body: { password: 'p@ss-in-body', token: 'ops_secret_token' },
        device: { key: '-----BEGIN PRIVATE KEY-----abc', certificate: '-----BEGIN CERTIFICATE-----xyz', csr: 'CSRDATA' },
        req: { headers: { authorization: 'Bearer ops_header_token' } },
        keep: 'visible-value',
      },
      'something happened',
    );
    const text = out.lines();
    for (const secret of ['hunter2', 'p@ss-in-body', 'ops_secret_token', 'BEGIN PRIVATE KEY', 'BEGIN CERTIFICATE', 'CSRDATA', 'ops_header_token']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('visible-value');
    expect(text).toContain('[redacted]');
  });
});
