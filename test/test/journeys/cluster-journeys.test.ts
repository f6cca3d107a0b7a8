/**
 * Issue 16, item 2 (e): the user journeys through the cluster of issue 15 — three broker nodes and
 * one control node (real `outpost server --role …` processes) behind a real HAProxy, on real Redis,
 * PostgreSQL and influxd, started once. The browser signs in on the dashboard through HAProxy's
 * operator frontend (served by the control node); devices enroll and connect through HAProxy to
 * the broker nodes. The journeys are the very ones the single-server tests run (alert.journey.ts,
 * revoke.journey.ts), with their assertions; on top, a revocation of a device connected straight
 * to a broker node other than the one the first revoked device was on: dropped within 1 s of the
 * confirm click on the control node's dashboard.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// startCluster from the built package: HAProxy's config is found relative to the compiled file (dist/).
import { startCluster } from '@outpost/e2e';
import { startChromium, waitFor, type ChromiumHandle, type ClusterHandle } from '../../src/index.js';
import { ALERT_JOURNEY_SERVER_ENV, runAlertJourney } from './alert.journey.js';
import { brokerSessions, clusterNodeTarget, clusterTarget } from './cluster-target.js';
import { runInstallJourney } from './install.journey.js';
import { stepMs } from './journey-kit.js';
import { runRolloutJourney } from './rollout.journey.js';
import { DISCONNECT_BUDGET_MS, runRevokeJourney } from './revoke.journey.js';

describe('journeys through the cluster: 3 broker nodes + 1 control node behind HAProxy (issue 16, 2 e)', () => {
  let cluster: ClusterHandle;
  let chromium: ChromiumHandle;
  /** The broker node the device of the revoke journey landed on through HAProxy. */
  let firstHolder: string | undefined;
  let dir: string;

  beforeAll(async () => {
    const started = Date.now();
    dir = await mkdtemp(join(tmpdir(), 'outpost-cluster-journeys-'));
    [cluster, chromium] = await Promise.all([startCluster({ brokers: 3, controls: 1, nodeTimeoutMs: 180_000, env: { ...ALERT_JOURNEY_SERVER_ENV, OUTPOST_OTA_TICK: '1s' } }), startChromium()]);
    console.log(`cluster journeys: cluster and Chromium up in ${String(Date.now() - started)} ms`);
  }, 300_000);
  afterAll(async () => {
    await chromium?.close();
    await cluster?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('(b) rule → alert → signed webhook → acknowledged in the dashboard → resolved, through the cluster', async () => {
    await runAlertJourney(clusterTarget(cluster), chromium);
  }, 120_000);

  it('(d) revoke in the dashboard → disconnected within 1 s, reconnect refused, through the cluster', async () => {
    const { disconnectMs } = await runRevokeJourney(clusterTarget(cluster), chromium, {
      onConnected: async (deviceId) => {
        // The device is the one MQTT session through HAProxy (the alert journey's device has hung up by now, or soon).
        const held = await waitFor(
          async () => {
            const names = Object.entries(await brokerSessions(cluster));
            return names.length === 1 && names[0]?.[1] === 1 ? names[0][0] : undefined;
          },
          { description: `${deviceId} as the one MQTT session HAProxy holds`, timeoutMs: stepMs() },
        );
        firstHolder = held;
        console.log(`revoke journey (cluster): ${deviceId} is on ${String(firstHolder)}, the dashboard on ${cluster.nodes.filter((n) => n.role === 'control').map((n) => n.name).join(', ')}`);
      },
    });
    expect(disconnectMs).toBeLessThan(DISCONNECT_BUDGET_MS);
  }, 120_000);

  it('revoking on the control node drops a device connected straight to another broker node within 1 s', async () => {
    const brokers = cluster.nodes.filter((n) => n.role === 'broker').map((n) => n.name);
    const other = brokers.find((name) => name !== firstHolder) ?? 'broker-3';
    const { disconnectMs } = await runRevokeJourney(clusterNodeTarget(cluster, other), chromium, {
      deviceId: 'pump-station-4',
      operator: { username: 'rhea', password: 'rhea-the-operator-1' },
    });
    expect(other).not.toBe(firstHolder);
    expect(disconnectMs).toBeLessThan(DISCONNECT_BUDGET_MS);
  }, 120_000);

  // (a) and (c) run real agents: after the revocations, whose checks count MQTT sessions through HAProxy.
  it('(a) dashboard bundle → install.sh --root → enrolled through HAProxy → online → telemetry on its device page, through the cluster', async () => {
    const result = await runInstallJourney(clusterTarget(cluster), chromium, { workDir: join(dir, 'install') });
    expect(result.screenshots).toHaveLength(3);
  }, 180_000);

  it('(c) a 3-wave rollout started in the dashboard updates every device; a bad build is paused by the gate and rolled back, through the cluster', async () => {
    const result = await runRolloutJourney(clusterTarget(cluster), chromium, { workDir: join(dir, 'rollout'), devices: 3 });
    expect(result.deviceIds).toHaveLength(3);
    expect(result.screenshots).toHaveLength(2);
  }, 240_000);
});
