/**
 * User journey (issue 16, item 2 b) on one spawned `outpost server`: rule → alert → signed webhook
 * → acknowledged in the dashboard → resolved. The journey itself (steps and assertions) is in
 * alert.journey.ts; cluster-journeys.test.ts runs the same one through the cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startChromium, startServerProcess, type ChromiumHandle, type ServerProcess } from '../../src/index.js';
import { ALERT_JOURNEY_SERVER_ENV, runAlertJourney } from './alert.journey.js';

describe('journey: rule → alert → signed webhook → acknowledged in the dashboard → resolved', () => {
  let dir: string;
  let server: ServerProcess;
  let chromium: ChromiumHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-journey-alert-'));
    [server, chromium] = await Promise.all([startServerProcess(dir, { ...ALERT_JOURNEY_SERVER_ENV }), startChromium()]);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('fires, notifies with a verified signature, is acknowledged by the operator with a comment, then resolves', async () => {
    await runAlertJourney(server, chromium);
  }, 120_000);
});
