/*
 * `outpost-agent enroll` as a real process against a real HTTPS listener (throwaway CA): the
 * token can come from a file or standard input instead of argv, the state dir is made 0700
 * (a looser one is tightened with a warning), and the exit code tells a token the platform
 * refused (3) from any other failure (1), which install.sh relies on.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOfDer } from '../../src/identity/ca-pin.js';
import { makeTestPki } from '../identity/test-pki.js';
import type { TestPki } from '../identity/test-pki.js';

/** The node that runs the agent: this one, or another (OUTPOST_TEST_AGENT_NODE) to try an older Node. */
const AGENT_NODE = process.env['OUTPOST_TEST_AGENT_NODE'] ?? process.execPath;
const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function agent(args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(AGENT_NODE, [AGENT_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('outpost-agent enroll', () => {
  let pki: TestPki;
  let server: Server;
  let url: string;
  let work: string;
  let fingerprint: string;
  const tokens: string[] = [];

  beforeAll(async () => {
    pki = await makeTestPki('Platform CA');
    work = await mkdtemp(join(tmpdir(), 'agent-enroll-cli-'));
    fingerprint = fingerprintOfDer(new X509Certificate(pki.caPem).raw);
    server = createServer({ cert: `${pki.serverCertPem}${pki.caPem}`, key: pki.serverKeyPem }, (req, res) => {
      if (req.url === '/device/v1/ca') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pki.caPem);
        return;
      }
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        tokens.push((JSON.parse(body) as { token: string }).token);
        res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'ENROLL_TOKEN_USED_UP', message: 'the enrollment token has been used up' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await Promise.all([pki.cleanup(), rm(work, { recursive: true, force: true })]);
  });

  it('reads the token from --token-file and from standard input, and exits 3 when the platform refuses it', async () => {
    const file = join(work, 'token');
    await writeFile(file, 'oet_from_file\n', { mode: 0o600 });
    const fromFile = await agent(['enroll', '--server', url, '--token-file', file, '--ca-fingerprint', fingerprint, '--state-dir', join(work, 'a')]);
    expect(fromFile.code, fromFile.stderr).toBe(3);
    expect(fromFile.stderr).toMatch(/enrollment refused \(409 ENROLL_TOKEN_USED_UP\).*\[ENROLL_TOKEN_USED_UP\]\n$/);

    const fromStdin = await agent(['enroll', '--server', url, '--token-file', '-', '--ca-fingerprint', fingerprint, '--state-dir', join(work, 'b')], 'oet_from_stdin\n');
    expect(fromStdin.code, fromStdin.stderr).toBe(3);
    expect(tokens).toEqual(['oet_from_file', 'oet_from_stdin']);
  });

  it('exits 1, not 3, when the platform cannot be reached (the token was not used)', async () => {
    const closed = await agent(['enroll', '--server', 'https://127.0.0.1:9', '--token', 'oet_x', '--ca', join(work, 'ca.pem'), '--state-dir', join(work, 'c')]);
    expect(closed.code).toBe(1);
    await writeFile(join(work, 'ca.pem'), pki.caPem);
    const refused = await agent(['enroll', '--server', 'https://127.0.0.1:9', '--token', 'oet_x', '--ca', join(work, 'ca.pem'), '--state-dir', join(work, 'c'), '--timeout', '2s']);
    expect(refused.code, refused.stderr).toBe(1);
  });

  it('refuses both --token and --token-file, and an empty token file', async () => {
    const both = await agent(['enroll', '--server', url, '--token', 't', '--token-file', '-', '--state-dir', join(work, 'd')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--token or --token-file, not both');
    await writeFile(join(work, 'empty'), '\n');
    const empty = await agent(['enroll', '--server', url, '--token-file', join(work, 'empty'), '--state-dir', join(work, 'd')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('must hold the token alone on one line');
  });

  it('creates the state dir 0700, and tightens a looser one with a warning', async () => {
    const fresh = join(work, 'fresh', 'state');
    await agent(['enroll', '--server', url, '--token', 't', '--ca-fingerprint', fingerprint, '--state-dir', fresh]);
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);

    const loose = join(work, 'loose');
    await mkdir(loose);
    await chmod(loose, 0o755);
    const run = await agent(['enroll', '--server', url, '--token', 't', '--ca-fingerprint', fingerprint, '--state-dir', loose]);
    expect(run.stderr).toContain(`outpost-agent enroll: warning: ${loose} was mode 0755 (open to other users); made it 0700\n`);
    expect((await stat(loose)).mode & 0o777).toBe(0o700);
  });
});
