/**
 * User journey (issue 16, item 2 d) on one spawned `outpost server`: revoke in the dashboard →
 * the device disconnected within 1 s of the confirm click, its certificate refused afterwards.
 * The journey itself (steps and assertions) is in revoke.journey.ts; cluster-journeys.test.ts runs
 * the same one through the cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startChromium, startServerProcess, type ChromiumHandle, type ServerProcess } from '../../src/index.js';
import { runRevokeJourney } from './revoke.journey.js';

describe('journey: revoke in the dashboard → disconnected within 1 s, reconnect refused', () => {
  let dir: string;
  let server: ServerProcess;
  let chromium: ChromiumHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-journey-revoke-'));
    [server, chromium] = await Promise.all([startServerProcess(dir, {}), startChromium()]);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('closes the device connection within 1 s of the confirm click and refuses its certificate afterwards', async () => {
    await runRevokeJourney(server, chromium);
  }, 120_000);
});
