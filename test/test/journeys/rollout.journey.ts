/**
 * User journey (issue 16, item 2 c): an update reaches the fleet, and a bad one does not stick.
 * The release engineer makes and registers a signing key and signs and uploads two builds of an app
 * with the `outpost` CLI: a good one, and a bad one whose health check fails on the device. Real
 * agents enrolled with a token run and trust the key. In Chromium an operator creates a 3-wave
 * rollout of the good build on the Rollouts page and starts it → every device updated (the page says
 * succeeded, the devices API shows the version). Then the same for the bad build → the first wave's
 * device installs it, fails its health check and rolls back → the gate breaches and pauses (or aborts)
 * the rollout, the page shows the reason, and every device reports the good version again.
 *
 * The target is only URLs (JourneyTarget): one spawned server or a cluster behind HAProxy. The server
 * should tick rollouts quickly (OUTPOST_OTA_TICK=1s) for the journey to take seconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { SERVER_ADMIN_PASSWORD, waitFor, type ChromiumHandle } from '../../src/index.js';
import { runAgent, startAgent, type AgentProcess } from '../agent-harness.js';
import { cliEnv, createOperator, loginToken, outpostCli, screenshot, signIn, stepMs, type JourneyTarget } from './journey-kit.js';

export interface RolloutJourneyOptions {
  /** An empty directory of this run: keys, builds, the agents' state dirs. */
  readonly workDir: string;
  /** Real agents in the fleet (default 3; at least 3, one per wave). */
  readonly devices?: number;
  /** The operator account the journey makes and signs in with. */
  readonly operator?: { readonly username: string; readonly password: string };
}

export interface RolloutJourneyResult {
  readonly deviceIds: readonly string[];
  /** From the Start click to the page showing the good rollout succeeded. */
  readonly goodRolloutMs: number;
  /** From the Start click to the page showing the bad rollout stopped by its gate. */
  readonly badRolloutStoppedMs: number;
  /** The gate's reason as the page shows it. */
  readonly breach: string;
  readonly screenshots: readonly string[];
}

const APP = 'journey-app';
const GOOD = '1.0.0';
const BAD = '1.1.0';
const HARDWARE = 'journey-board';

interface DeviceView {
  readonly id: string;
  readonly online: boolean;
  readonly firmware: { readonly name: string; readonly version: string; readonly slot: string } | null;
}
interface RolloutDeviceView {
  readonly deviceId: string;
  readonly wave: number;
  readonly state: string;
  readonly error: { code: string; message: string } | null;
}

export async function runRolloutJourney(target: JourneyTarget, chromium: ChromiumHandle, opts: RolloutJourneyOptions): Promise<RolloutJourneyResult> {
  const count = opts.devices ?? 3;
  if (count < 3) throw new Error(`the rollout journey needs at least 3 devices (one per wave), not ${String(count)}`);
  const operator = opts.operator ?? { username: 'rosa', password: 'rosa-the-releaser-1' };
  const name = (step: string): string => `journey-rollout${target.label === undefined ? '' : `-${target.label}`}-${step}`;
  const work = opts.workDir;
  const screenshots: string[] = [];
  const agents: AgentProcess[] = [];
  const api = await createOperator(target, operator.username, operator.password);
  // The release engineer's CLI session (keys need an admin), as `outpost login` would leave it.
  await mkdir(join(work, 'home'), { recursive: true });
  const env = cliEnv(target, await loginToken(target, 'admin', SERVER_ADMIN_PASSWORD), join(work, 'home'));
  const cli = (args: readonly string[]): Promise<string> => outpostCli(args, env, work);
  const page = await signIn(chromium, target, operator.username, operator.password);
  try {
    // 1. A signing key, registered: every device gets it in its TrustSet.
    await cli(['keys', 'create', '--out', join(work, 'release.pem'), '--no-passphrase']);
    await cli(['keys', 'register', '--key', join(work, 'release.pem')]);

    // 2. The fleet: real agents enrolled with one token, running with short intervals.
    const { token, caFingerprint } = (await api('POST', '/api/v1/enrollment-tokens', { group: 'rollout-journey', maxUses: count, ttlSeconds: 600 })) as { token: string; caFingerprint: string };
    const config = join(work, 'agent.json');
    await writeFile(config, JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 1_000, metrics: { temp_c: { base: 4 } } }] }));
    const fleet = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const stateDir = join(work, `device-${String(i + 1)}`);
        const enrolled = await runAgent(['enroll', '--server', target.deviceUrl, '--token', token, '--ca-fingerprint', caFingerprint, '--state-dir', stateDir]);
        expect(enrolled.code, enrolled.output).toBe(0);
        const deviceId = /enrolled as (\S+)/.exec(enrolled.output)?.[1];
        if (deviceId === undefined) throw new Error(`enroll printed no device id: ${enrolled.output}`);
        return { deviceId, stateDir };
      }),
    );
    const deviceIds = fleet.map((d) => d.deviceId).sort();
    for (const d of fleet) {
      agents.push(
        startAgent(['run', '--state-dir', d.stateDir, '--config', config, '--hardware', HARDWARE, '--status-interval', '1s', '--reconnect-min', '100ms', '--reconnect-max', '1s', '--ota-retry-min', '200ms', '--ota-retry-max', '1s', '--flush-timeout', '2s']),
      );
    }
    const agentsAlive = (): Error | undefined => {
      const dead = agents.find((a) => a.child.exitCode !== null || a.child.signalCode !== null);
      return dead === undefined ? undefined : new Error(`an agent exited (${String(dead.child.exitCode ?? dead.child.signalCode)}):\n${dead.output().slice(-3000)}`);
    };
    for (const d of fleet) {
      await waitFor(
        async () => {
          const text = await readFile(join(d.stateDir, 'trust.json'), 'utf8').catch(() => undefined);
          return text !== undefined && (JSON.parse(text) as { keys: unknown[] }).keys.length > 0 ? true : undefined;
        },
        { description: `the registered key in ${d.deviceId}'s TrustSet`, timeoutMs: stepMs() * 2, intervalMs: 100, abortIf: agentsAlive },
      );
      await waitFor(async () => ((await api('GET', `/api/v1/devices/${d.deviceId}`)) as DeviceView).online || undefined, { description: `${d.deviceId} online`, timeoutMs: stepMs(), intervalMs: 100, abortIf: agentsAlive });
    }

    // 3. Two builds of the app, signed offline and uploaded: the bad one's health check fails on the device.
    const build = async (version: string, healthCmd: string): Promise<string> => {
      const src = join(work, `app-${version}`);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'app.txt'), `app ${version}\n`);
      const archive = join(work, `app-${version}.tgz`);
      execFileSync('tar', ['-czf', archive, '-C', src, '.']);
      const manifest = join(work, `app-${version}.json`);
      await cli(['firmware', 'sign', '--key', join(work, 'release.pem'), '--name', APP, '--version', version, '--type', 'archive', '--hardware', HARDWARE, '--health-cmd', healthCmd, '--health-attempts', '1', '--health-interval', '1', '--health-timeout', '5', archive, '--out', manifest]);
      await cli(['firmware', 'upload', archive, '--manifest', manifest]);
      return (JSON.parse(await readFile(manifest, 'utf8')) as { manifest: { id: string } }).manifest.id;
    };
    const goodId = await build(GOOD, 'test -f app.txt');
    const badId = await build(BAD, 'echo "sensor bus not found" >&2; exit 3');

    // 4. The good build: a 3-wave rollout created and started on the Rollouts page → all updated.
    const third = Math.ceil(count / 3);
    const waves = `${String(third)}, ${String(Math.min(count - 1, 2 * third))}, ${String(count)}`;
    const good = await createAndStart(page, { artifactId: goodId, rolloutName: `${APP} ${GOOD}`, deviceIds, waves });
    const goodStarted = Date.now();
    await waitFor(async () => ((await good.badge.textContent()) === 'succeeded' ? true : undefined), { description: 'the page showing the good rollout succeeded', timeoutMs: stepMs() * 4, intervalMs: 200, abortIf: agentsAlive });
    const goodRolloutMs = Date.now() - goodStarted;
    expect(await page.getByRole('table', { name: 'Waves' }).locator('tbody tr').count()).toBe(3);
    for (const id of deviceIds) await waitFor(async () => ((await page.getByTestId(`ro-state-${id}`).textContent())?.trim() === 'succeeded' ? true : undefined), { description: `${id} succeeded on the page`, timeoutMs: stepMs() });
    screenshots.push(await screenshot(page, name('good-succeeded')));
    const goodDevices = (await api('GET', `/api/v1/rollouts/${good.id}/devices`)) as { items: RolloutDeviceView[] };
    expect(new Set(goodDevices.items.map((d) => d.wave))).toEqual(new Set([0, 1, 2]));
    for (const id of deviceIds) {
      const device = await waitFor(async () => {
        const d = (await api('GET', `/api/v1/devices/${id}`)) as DeviceView;
        return d.firmware?.version === GOOD ? d : undefined;
      }, { description: `${id} reporting ${APP} ${GOOD}`, timeoutMs: stepMs() });
      expect(device.firmware).toMatchObject({ name: APP, version: GOOD });
    }

    // 5. The bad build, the same way: the first wave fails its health check and rolls back, the gate stops it.
    const bad = await createAndStart(page, { artifactId: badId, rolloutName: `${APP} ${BAD}`, deviceIds, waves });
    const badStarted = Date.now();
    const stopped = await waitFor(async () => {
      const state = (await bad.badge.textContent()) ?? '';
      return ['paused', 'aborted', 'failed'].includes(state) ? state : undefined;
    }, { description: 'the gate stopping the bad rollout on the page', timeoutMs: stepMs() * 4, intervalMs: 200, abortIf: agentsAlive });
    const badRolloutStoppedMs = Date.now() - badStarted;
    expect(['paused', 'aborted']).toContain(stopped);
    const notice = page.locator('p.notice[role="status"]');
    await notice.waitFor();
    const breach = ((await notice.textContent()) ?? '').trim();
    expect(breach).toMatch(/^GATE_(FAILURE_RATIO|ROLLBACKS): /);
    await expect.poll(async () => page.getByRole('table', { name: 'Waves' }).locator('tr[data-wave="0"]').textContent(), { timeout: stepMs() }).toContain('breached');
    const badDevices = (await api('GET', `/api/v1/rollouts/${bad.id}/devices`)) as { items: RolloutDeviceView[] };
    const rolledBack = badDevices.items.filter((d) => d.state === 'rolled-back');
    expect(rolledBack.length).toBeGreaterThan(0);
    for (const d of rolledBack) expect(d.error?.code).toBe('OTA_HEALTH_CHECK_FAILED');
    // Nobody kept the bad build, and the later waves never got it.
    expect(badDevices.items.filter((d) => d.state === 'succeeded')).toEqual([]);
    expect(badDevices.items.filter((d) => d.wave === 2).map((d) => d.state)).not.toContain('rolled-back');
    for (const d of rolledBack) await page.getByTestId(`ro-state-${d.deviceId}`).filter({ hasText: 'rolled-back' }).waitFor();
    screenshots.push(await screenshot(page, name('bad-stopped')));
    // Every device reports the good build again, and runs it.
    for (const d of fleet) {
      await waitFor(async () => (((await api('GET', `/api/v1/devices/${d.deviceId}`)) as DeviceView).firmware?.version === GOOD ? true : undefined), {
        description: `${d.deviceId} reporting ${APP} ${GOOD} again`,
        timeoutMs: stepMs(),
      });
      expect(await readFile(join(d.stateDir, 'apps', APP, 'current', 'app.txt'), 'utf8')).toBe(`app ${GOOD}\n`);
    }
    console.log(
      `rollout journey${target.label === undefined ? '' : ` (${target.label})`}: ${String(count)} agents; good rollout succeeded ${String(goodRolloutMs)} ms after the Start click; ` +
        `bad rollout ${stopped} ${String(badRolloutStoppedMs)} ms after it (${String(rolledBack.length)} rolled back): "${breach}" (loaded machine)`,
    );
    return { deviceIds, goodRolloutMs, badRolloutStoppedMs, breach, screenshots };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await page.context().close();
  }
}

/** The New rollout form on the Rollouts page, left as a draft, then started from its own page. */
async function createAndStart(page: Page, spec: { artifactId: string; rolloutName: string; deviceIds: readonly string[]; waves: string }): Promise<{ id: string; badge: ReturnType<Page['getByTestId']> }> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rollouts', exact: true }).click();
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'New rollout' }) });
  await form.getByLabel('Artifact').selectOption(spec.artifactId);
  await form.getByLabel('Name').fill(spec.rolloutName);
  await form.getByLabel('Target devices').fill(spec.deviceIds.join(', '));
  await form.getByLabel('Waves (cumulative)').fill(spec.waves);
  await form.getByLabel('Gate: max failure ratio').fill('0');
  await form.getByLabel('Gate: soak').fill('1s');
  await form.getByLabel('Start now').uncheck();
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await page.getByRole('heading', { name: spec.rolloutName }).waitFor();
  const badge = page.getByTestId('rollout-state');
  await waitFor(async () => ((await badge.textContent()) === 'draft' ? true : undefined), { description: `${spec.rolloutName} shown as a draft`, timeoutMs: stepMs() });
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  await page.getByRole('button', { name: 'Start' }).click();
  await waitFor(async () => ((await badge.textContent()) === 'draft' ? undefined : true), { description: `${spec.rolloutName} started`, timeoutMs: stepMs() });
  return { id, badge };
}
