/*
 * The OTA engine in-process, on real files and a real HTTPS artifact server: cancel and
 * supersede while a download is held open, the confirm deadline of an agent self-update (the
 * link's verdict: session refused, server unreachable, no attempt ended), a job that waits for
 * its TrustSet, and the staging files of jobs that no longer exist.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OtaProgress, TrustSet } from '@outpost/protocol';
import { createOtaEngine } from '../../src/ota/ota-engine.js';
import type { OtaEngine } from '../../src/ota/ota-engine.js';
import { createOtaStore } from '../../src/ota/ota-store.js';
import type { DeviceIdentity } from '../../src/identity/state-dir.js';
import { makeTestPki } from '../identity/test-pki.js';
import type { TestPki } from '../identity/test-pki.js';
import { jobFor, manifestFor, signer, startArtifactServer, tarGz, trustSetOf, until } from './ota-kit.js';
import type { ArtifactServer } from './ota-kit.js';

const CHUNK = 4096;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const ops = signer('key-ops');

describe('the OTA engine', () => {
  let pki: TestPki;
  let server: ArtifactServer;
  let dir: string;
  const engines: OtaEngine[] = [];

  beforeAll(async () => {
    pki = await makeTestPki();
    server = await startArtifactServer({ ca: pki.caPem, cert: pki.serverCertPem, key: pki.serverKeyPem });
    dir = await mkdtemp(join(tmpdir(), 'ota-engine-'));
  });
  afterEach(async () => {
    server.release();
    for (const e of engines.splice(0)) await e.close();
  });
  afterAll(async () => {
    await server?.close();
    await pki?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  function engine(stateDir: string, extra: { agentHome?: string; agentVersion?: string; trust?: () => TrustSet | undefined; confirmGraceMs?: number } = {}) {
    const reports: OtaProgress[] = [];
    let restarts = 0;
    const identity: DeviceIdentity = {
      deviceId: 'pi-engine',
      keyPem: pki.serverKeyPem,
      certPem: pki.serverCertPem,
      caPem: pki.caPem,
      mqttUrl: 'mqtts://127.0.0.1:9',
      deviceApiUrl: server.url,
      limits: { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 },
      serial: '01',
      notBefore: 0,
      notAfter: Date.now() + 86_400_000,
    };
    const e = createOtaEngine({
      stateDir,
      agentVersion: extra.agentVersion ?? '1.0.0',
      agentHome: extra.agentHome,
      hardware: ['test-board'],
      identity: () => identity,
      trust: async () => (extra.trust === undefined ? trustSetOf(ops) : extra.trust()),
      log: quiet,
      now: Date.now,
      report: (p, onSent) => {
        reports.push(p);
        onSent?.();
      },
      requestRestart: () => {
        restarts += 1;
      },
      options: { retry: { minMs: 50, maxMs: 100, attempts: 5 }, minFreeBytes: 0, trustPollMs: 50, ...(extra.confirmGraceMs === undefined ? {} : { confirmGraceMs: extra.confirmGraceMs }) },
    });
    engines.push(e);
    return { engine: e, reports, restarts: () => restarts };
  }

  async function app(version: string) {
    const bytes = await tarGz({ 'app.txt': version, 'blob.bin': randomBytes(10 * CHUNK) });
    const manifest = manifestFor(bytes, { name: 'app', version }, CHUNK);
    // A path on the device listener, as the platform sends it.
    server.put(manifest.id, bytes);
    return jobFor(manifest, ops, `/fw/${manifest.id}`);
  }

  it('a cancel before activation stops the download and removes what it staged', async () => {
    const state = join(dir, 'cancel');
    const { engine: e, reports } = engine(state);
    await e.start();
    const job = await app('2.0.0');
    server.holdAt(CHUNK * 3 + 10);
    await e.onJob(job);
    await until('3 chunks staged', () => reports.find((r) => r.state === 'downloading' && (r.bytes ?? 0) >= CHUNK * 3));
    await e.onJob({ ...job, cancel: true });
    const last = await until('the outcome', () => reports.find((r) => r.state === 'failed'));
    expect(last).toMatchObject({ jobId: job.jobId, error: { code: 'OTA_JOB_CANCELLED' } });
    expect(await readdir(join(state, 'ota', 'staging'))).toEqual([]);
    expect(await readlink(join(state, 'apps', 'app', 'current')).catch(() => undefined)).toBeUndefined();
  });

  it('a new job supersedes one still downloading; the new one runs to its end', async () => {
    const state = join(dir, 'supersede');
    const { engine: e, reports } = engine(state);
    await e.start();
    const old = await app('2.1.0');
    const next = await app('2.2.0');
    server.holdAt(CHUNK * 2 + 10);
    await e.onJob(old);
    await until('the old job downloading', () => reports.find((r) => r.jobId === old.jobId && r.state === 'downloading' && (r.bytes ?? 0) >= CHUNK * 2));
    await e.onJob(next);
    expect(await until('the old outcome', () => reports.find((r) => r.jobId === old.jobId && r.state === 'failed'))).toMatchObject({ error: { code: 'OTA_JOB_SUPERSEDED' } });
    expect(await until('the new outcome', () => reports.find((r) => r.jobId === next.jobId && ['succeeded', 'failed'].includes(r.state)))).toMatchObject({ state: 'succeeded' });
    expect(await readlink(join(state, 'apps', 'app', 'current'))).toBe('a');
    expect(await readdir(join(state, 'ota', 'staging'))).toEqual([]);
  });

  it('a cancelled job that never started here is ignored', async () => {
    const { engine: e, reports } = engine(join(dir, 'never'));
    await e.start();
    const job = await app('3.0.0');
    await e.onJob({ ...job, cancel: true });
    expect(reports).toEqual([]);
  });

  /** What the old version left when it activated 5.0.0 in slot b and exited (confirmDeadlineS 1). */
  async function activatedAgent(name: string) {
    const state = join(dir, name);
    const home = join(dir, `${name}-home`);
    await mkdir(join(home, 'a'), { recursive: true });
    await mkdir(join(home, 'b'), { recursive: true });
    await symlink('b', join(home, 'current'));
    const bytes = randomBytes(100);
    const job = jobFor(manifestFor(bytes, { name: 'outpost-agent', version: '5.0.0', type: 'agent' }, CHUNK), ops, '/fw/none', { confirmDeadlineS: 1 });
    await createOtaStore(state).writeRecord({ v: 1, job, phase: 'activating', receivedAt: Date.now(), previousSlot: 'a', targetSlot: 'b', activatedAt: Date.now() });
    await writeFile(join(state, 'boot-attempts'), '1\n');
    return { state, home, job };
  }

  it('an agent version that reaches the broker but gets no MQTT session within confirmDeadlineS switches back and restarts', async () => {
    const { state, home, job } = await activatedAgent('refused');
    const { engine: e, reports, restarts } = engine(state, { agentHome: home, agentVersion: '5.0.0' });
    const started = Date.now();
    await e.start();
    // What mqtt-link.ts reports for a CONNACK refusal after the TLS handshake.
    e.onConnectFailed({ reachedBroker: true, reason: 'Connection refused: Not authorized', code: '5' });
    e.onConnectFailed({ reachedBroker: false, reason: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' });
    const last = await until('the rollback', () => reports.find((r) => r.state === 'rolled-back'), 5_000);
    expect(last).toMatchObject({ jobId: job.jobId, error: { code: 'OTA_CONFIRM_TIMEOUT', message: expect.stringContaining('reached the broker but got no MQTT session') } });
    expect(last.error?.message).toContain('Not authorized');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await readlink(join(home, 'current'))).toBe('a');
    expect(restarts()).toBe(1);
  });

  it('an agent version whose server is unreachable past confirmDeadlineS is committed locally, never rolled back', async () => {
    const { state, home, job } = await activatedAgent('unreachable');
    const { engine: e, reports, restarts } = engine(state, { agentHome: home, agentVersion: '5.0.0' });
    const started = Date.now();
    await e.start();
    e.onConnectFailed({ reachedBroker: false, reason: 'connack timeout' });
    // The broker answered, but its registry is down: the server's trouble, not this version's.
    e.onConnectFailed({ reachedBroker: true, reason: 'Connection refused: Server unavailable', code: '3' });
    const last = await until('the outcome', () => reports.find((r) => ['succeeded', 'rolled-back'].includes(r.state)), 5_000);
    expect(last).toMatchObject({ jobId: job.jobId, state: 'succeeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await readlink(join(home, 'current'))).toBe('b');
    expect(restarts()).toBe(0);
    expect((await readFile(join(state, 'boot-attempts'), 'utf8')).trim()).toBe('0');
    expect(e.firmware()).toEqual({ name: 'outpost-agent', version: '5.0.0', slot: 'b' });
  });

  it('past confirmDeadlineS the decision waits for an attempt to end; a version that never ends one is switched back', async () => {
    const { state, home, job } = await activatedAgent('silent');
    const { engine: e, reports, restarts } = engine(state, { agentHome: home, agentVersion: '5.0.0', confirmGraceMs: 1_000 });
    const started = Date.now();
    await e.start();
    const last = await until('the rollback', () => reports.find((r) => ['succeeded', 'rolled-back'].includes(r.state)), 5_000);
    expect(last).toMatchObject({ jobId: job.jobId, state: 'rolled-back', error: { code: 'OTA_CONFIRM_TIMEOUT', message: expect.stringContaining('ended no connection attempt') } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(await readlink(join(home, 'current'))).toBe('a');
    expect(restarts()).toBe(1);
  });

  it('a job that comes before any TrustSet waits queued, across a restart, and goes on when one is stored', async () => {
    const state = join(dir, 'no-trust');
    const stored: { trust?: TrustSet } = {};
    let looks = 0;
    const lookup = (): TrustSet | undefined => {
      looks += 1;
      return stored.trust;
    };
    const first = engine(state, { trust: lookup });
    await first.engine.start();
    const job = await app('4.0.0');
    await first.engine.onJob(job);
    // Still waiting after several looks for a TrustSet: nothing downloaded, nothing failed.
    await until('several looks for a TrustSet', () => looks >= 5);
    expect(first.reports.map((r) => r.state)).toEqual(['queued']);
    expect(await readFile(join(state, 'ota', 'job.json'), 'utf8')).toContain('"queued"');
    await first.engine.close();
    looks = 0;
    const second = engine(state, { trust: lookup });
    await second.engine.start();
    await until('the resumed job looking for a TrustSet', () => looks >= 2);
    stored.trust = trustSetOf(ops);
    expect(await until('the outcome', () => second.reports.find((r) => r.jobId === job.jobId && ['succeeded', 'failed'].includes(r.state)))).toMatchObject({ state: 'succeeded' });
    expect(await readlink(join(state, 'apps', 'app', 'current'))).toBe('a');
  });

  it('runs a signed script with its timeout: exit 0 succeeds, anything else fails with its output', async () => {
    const state = join(dir, 'script');
    const { engine: e, reports } = engine(state);
    await e.start();
    const marker = join(dir, 'script-ran');
    const good = Buffer.from(`#!/bin/sh\necho ran > ${marker}\n`);
    const goodManifest = manifestFor(good, { name: 'fix-perms', version: '1.0.0', type: 'script' }, CHUNK);
    server.put(goodManifest.id, good);
    const goodJob = jobFor(goodManifest, ops, `/fw/${goodManifest.id}`);
    await e.onJob(goodJob);
    expect(await until('the script outcome', () => reports.find((r) => r.jobId === goodJob.jobId && ['succeeded', 'failed'].includes(r.state)))).toMatchObject({ state: 'succeeded' });
    expect(await readFile(marker, 'utf8')).toBe('ran\n');
    const bad = Buffer.from('#!/bin/sh\necho disk is read-only >&2\nexit 4\n');
    const badManifest = manifestFor(bad, { name: 'fix-perms', version: '1.1.0', type: 'script' }, CHUNK);
    server.put(badManifest.id, bad);
    const badJob = jobFor(badManifest, ops, `/fw/${badManifest.id}`);
    await e.onJob(badJob);
    expect(await until('the failing script outcome', () => reports.find((r) => r.jobId === badJob.jobId && ['succeeded', 'failed'].includes(r.state)))).toMatchObject({
      state: 'failed',
      error: { code: 'OTA_SCRIPT_FAILED', message: expect.stringContaining('exited with 4: disk is read-only') },
    });
  });

  it('at start, removes staging files of jobs that no longer exist', async () => {
    const state = join(dir, 'leftovers');
    await mkdir(join(state, 'ota', 'staging'), { recursive: true });
    await writeFile(join(state, 'ota', 'staging', 'job-gone.part'), randomBytes(1000));
    await writeFile(join(state, 'ota', 'staging', 'job-gone.part.etag'), '"x"\n');
    const { engine: e } = engine(state);
    await e.start();
    expect(await readdir(join(state, 'ota', 'staging'))).toEqual([]);
  });
});
