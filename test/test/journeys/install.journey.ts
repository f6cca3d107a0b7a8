/**
 * User journey (issue 16, item 2 a): put an agent on a device. An operator signs in to the
 * dashboard, downloads an install bundle from the Enrollment page (the bundle carries its own
 * one-time enrollment token), the device extracts it with the system tar and runs `install.sh
 * --root DIR` (which enrolls against the platform), then starts the installed launcher as systemd
 * would → the real agent connects → the fleet page shows it online → its device page draws its
 * telemetry (a chart with points, the latest values table). Screenshots in os.tmpdir()/outpost-screens.
 *
 * The target is only URLs (JourneyTarget): one spawned server or a cluster behind HAProxy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { OutputTail, waitFor, type ChromiumHandle } from '../../src/index.js';
import { createOperator, screenshot, signIn, stepMs, type JourneyTarget } from './journey-kit.js';

export interface InstallJourneyOptions {
  /** An empty directory of this run: the downloaded bundle, its extraction and the device's root. */
  readonly workDir: string;
  /** The device group the bundle enrolls into (default `install-journey`). */
  readonly group?: string;
  /** The operator account the journey makes and signs in with. */
  readonly operator?: { readonly username: string; readonly password: string };
  /** How often the installed agent samples its system metrics (default 1 s; the bundle's default is 10 s). */
  readonly sampleIntervalMs?: number;
}

export interface InstallJourneyResult {
  readonly deviceId: string;
  /** From the click on "Download bundle" to the device shown online on the fleet page. */
  readonly clickToOnlineMs: number;
  /** From the launcher's start to the first chart on the device page with a point. */
  readonly startToChartMs: number;
  readonly screenshots: readonly string[];
}

/** PATH for the device's shell: this node first, then the system's tools (tar, sh, id). */
const DEVICE_PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

export async function runInstallJourney(target: JourneyTarget, chromium: ChromiumHandle, opts: InstallJourneyOptions): Promise<InstallJourneyResult> {
  const group = opts.group ?? 'install-journey';
  const operator = opts.operator ?? { username: 'ines', password: 'ines-the-installer-1' };
  const name = (step: string): string => `journey-install${target.label === undefined ? '' : `-${target.label}`}-${step}`;
  const screenshots: string[] = [];
  const api = await createOperator(target, operator.username, operator.password);
  const page = await signIn(chromium, target, operator.username, operator.password);
  let agent: ChildProcess | undefined;
  const agentOutput = new OutputTail(200);
  try {
    // 1. The operator downloads a bundle for the group from the Enrollment page.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Enrollment', exact: true }).click();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Install bundle' }) });
    await form.getByLabel('Group').fill(group);
    // Device and platform share this machine: the server's public host is a loopback address.
    await form.getByLabel(/For a device on this machine/).check();
    const clickedAt = Date.now();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: stepMs() }), form.getByRole('button', { name: 'Download bundle' }).click()]);
    const bundleFile = join(opts.workDir, download.suggestedFilename());
    await download.saveAs(bundleFile);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toMatch(/\.tar\.gz$/);
    // The bundle's token is listed (one use, not used yet), without its secret.
    await page.reload();
    const tokenRow = page.getByRole('table', { name: 'Enrollment tokens' }).getByRole('row').filter({ hasText: group });
    await expect.poll(async () => tokenRow.count(), { timeout: stepMs() }).toBe(1);
    expect(await tokenRow.textContent()).toMatch(/0 \/ 1\s*active/);
    screenshots.push(await screenshot(page, name('bundle-downloaded')));

    // 2. On the device: extract, install into DIR (enrolls with the bundle's token), tune the sampling.
    const extracted = join(opts.workDir, 'extracted');
    const root = join(opts.workDir, 'device-root');
    await mkdir(extracted, { recursive: true });
    await mkdir(root, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', bundleFile, '-C', extracted], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    const install = spawnSync('sh', [join(extracted, 'outpost-bundle', 'install.sh'), '--root', root, '--no-systemd'], { encoding: 'utf8', env: { PATH: DEVICE_PATH }, timeout: stepMs() * 2 });
    expect(install.status, `install.sh:\n${install.stdout}\n${install.stderr}`).toBe(0);
    expect(install.stdout).toMatch(new RegExp(`enrolling with https://\\S+ into group ${group}`));
    const state = join(root, 'var/lib/outpost-agent');
    const { deviceId } = JSON.parse(await readFile(join(state, 'identity.json'), 'utf8')) as { deviceId: string };
    expect(deviceId).toMatch(/\S/);
    const config = JSON.parse(await readFile(join(state, 'agent.json'), 'utf8')) as { collectors: { type: string; intervalMs: number }[] };
    expect(config.collectors.map((c) => c.type)).toEqual(['system']);
    await writeFile(join(state, 'agent.json'), JSON.stringify({ ...config, collectors: config.collectors.map((c) => ({ ...c, intervalMs: opts.sampleIntervalMs ?? 1_000 })) }));

    // 3. Start it as the unit does (the installed launcher runs the installed agent).
    const startedAt = Date.now();
    agent = spawn('sh', [join(root, 'opt/outpost-agent/launcher'), '--root', root], { env: { PATH: DEVICE_PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (b: Buffer) => agentOutput.push('stdout', b));
    agent.stderr?.on('data', (b: Buffer) => agentOutput.push('stderr', b));
    const running = agent;
    const agentAlive = (): Error | undefined => (running.exitCode === null && running.signalCode === null ? undefined : new Error(`the installed agent exited (${String(running.exitCode ?? running.signalCode)}):\n${agentOutput.text()}`));

    // 4. The fleet page shows it online, in its group, without a reload (live status).
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet', exact: true }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: deviceId, exact: true }) });
    await waitFor(async () => ((await row.count()) === 1 && (await row.locator('.c-online').textContent())?.startsWith('online') === true ? true : undefined), {
      description: `${deviceId} shown online on the fleet page`,
      timeoutMs: stepMs() * 2,
      intervalMs: 100,
      abortIf: agentAlive,
    });
    const clickToOnlineMs = Date.now() - clickedAt;
    expect(await row.locator('.c-group').textContent()).toBe(group);
    screenshots.push(await screenshot(page, name('fleet-online')));

    // 5. Its device page: online, charts drawn from its telemetry, the latest values.
    await row.getByRole('link', { name: deviceId, exact: true }).click();
    await page.getByRole('heading', { name: deviceId }).waitFor();
    expect(await page.getByTestId('online').textContent()).toBe('online');
    await page.getByLabel('Time range').selectOption({ label: '15 minutes' });
    const drawn = page.locator('figure.chart').filter({ has: page.locator('canvas') });
    const chart = await waitFor(
      async () => {
        for (const figure of await drawn.all()) {
          const points = Number(await figure.getAttribute('data-points'));
          const last = await figure.getAttribute('data-last-value');
          if (points >= 2 && last !== null && last !== '' && Number.isFinite(Number(last))) return { metric: (await figure.getAttribute('data-metric')) ?? '', points, last: Number(last) };
        }
        return undefined;
      },
      { description: `a chart of ${deviceId}'s telemetry with points on its device page`, timeoutMs: stepMs() * 2, intervalMs: 200, abortIf: agentAlive },
    );
    const startToChartMs = Date.now() - startedAt;
    const latestRows = page.getByTestId('latest').locator('tbody tr');
    expect(await latestRows.count()).toBeGreaterThan(0);
    const latestCell = page.getByTestId('latest').locator(`tr[data-metric="${chart.metric}"] td`).nth(1);
    expect(Number.isFinite(Number((await latestCell.textContent())?.replace(/[^\d.eE+-]/g, '')))).toBe(true);
    // What the chart draws is what the platform stored for the device.
    const stored = (await api('GET', `/api/v1/devices/${encodeURIComponent(deviceId)}/telemetry?metric=${encodeURIComponent(chart.metric)}&from=${String(startedAt - 60_000)}&to=${String(Date.now() + 1_000)}&every=1s&fn=mean`)) as { points: { ts: number; value: unknown }[] };
    expect(stored.points.length).toBeGreaterThan(0);
    screenshots.push(await screenshot(page, name('device-telemetry')));
    expect(await api('GET', `/api/v1/devices/${encodeURIComponent(deviceId)}`)).toMatchObject({ id: deviceId, group, online: true, status: 'active' });
    console.log(`install journey${target.label === undefined ? '' : ` (${target.label})`}: ${deviceId} online on the fleet page ${String(clickToOnlineMs)} ms after the download click; chart of ${chart.metric} with ${String(chart.points)} points ${String(startToChartMs)} ms after the launcher started (loaded machine)`);

    // The agent stops cleanly on SIGTERM, as systemd stops it.
    const exited = new Promise<number | null>((resolve) => running.once('close', (code) => resolve(code)));
    running.kill('SIGTERM');
    expect(await exited, agentOutput.text()).toBe(0);
    return { deviceId, clickToOnlineMs, startToChartMs, screenshots };
  } finally {
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await page.context().close();
  }
}
