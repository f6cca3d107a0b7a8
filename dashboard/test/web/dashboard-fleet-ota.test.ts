/**
 * The dashboard's later pieces in real Chromium against the real platform (issue 14): the fleet's
 * totals from `GET /fleet/summary` (drawn before the whole device list is read), a device's OTA
 * history (`GET /devices/{id}/ota`, API and device page), a rule's backtest drawn over the
 * metric's chart, and a signed firmware bundle uploaded from the browser with its progress and
 * the server's refusals. One browser and one platform for the file.
 */
import { rm } from 'node:fs/promises';
import { waitFor } from '@outpost/e2e';
import { buildTrustSet, createSigningKeyPem, readSigningKeyPem, signTrustSet } from '@outpost/ota/signing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startBrowserEnv, type BrowserEnv } from './browser-env.js';
import { signedArtifact, uploadArtifact } from './signed-artifact.js';

const DEVICES = [
  { id: 'ota-hist-01', group: 'orchard', historyMinutes: 60 },
  { id: 'ota-hist-02', group: 'orchard', historyMinutes: 5 },
  { id: 'barn-probe-01', group: 'barn', historyMinutes: 5 },
];

interface HistoryEntry {
  rolloutId: string;
  rolloutName: string;
  state: string;
  artifact: { name: string; version: string } | null;
  from: { name: string; version: string } | null;
  error: { code: string; message: string } | null;
  finishedAt: number | null;
}

describe('the web dashboard in Chromium: fleet totals, OTA history, backtest chart, firmware upload', () => {
  let env: BrowserEnv;
  let admin: Page;
  const key = readSigningKeyPem(createSigningKeyPem(undefined).pem, undefined);

  beforeAll(async () => {
    env = await startBrowserEnv(DEVICES);
    admin = await env.signedIn('admin');
    const trusted = await env.client.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(1, [key]), [key]) });
    expect(trusted.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('answers the fleet summary and draws the totals from it', async () => {
    const summary = await env.client.api('GET', '/api/v1/fleet/summary');
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({ total: 3, online: 3, byStatus: { active: 3 } });
    const body = summary.body as { byGroup: { name: string; total: number; online: number }[]; byFirmware: { firmware: { name: string; version: string } | null; total: number }[] };
    expect(body.byGroup).toEqual([
      { name: 'orchard', total: 2, online: 2 },
      { name: 'barn', total: 1, online: 1 },
    ]);
    expect(body.byFirmware.reduce((n, f) => n + f.total, 0)).toBe(3);
    expect(body.byFirmware.find((f) => f.firmware?.version === '2.1.0')?.total).toBe(2);
    // Suspended devices are counted by state; the route is the viewer's too, never anonymous.
    expect((await env.client.api('POST', '/api/v1/devices/barn-probe-01/suspend')).status).toBe(200);
    expect(((await env.client.api('GET', '/api/v1/fleet/summary')).body as { byStatus: Record<string, number> }).byStatus).toEqual({ active: 2, suspended: 1 });
    expect((await env.client.api('POST', '/api/v1/devices/barn-probe-01/resume')).status).toBe(200);
    expect((await fetch(`${env.platform.operatorUrl}/api/v1/fleet/summary`)).status).toBe(401);

    await admin.goto(`${env.platform.operatorUrl}/`);
    await waitFor(async () => (await admin.getByTestId('total').textContent())?.includes('3 devices') === true, { description: 'the total on the fleet page', timeoutMs: 10_000 });
    // The page marks when the summary's totals and the first rows were drawn.
    await waitFor(async () => (await admin.evaluate(`performance.getEntriesByName('fleet:all-rows').length`)) === 1, { description: 'the whole list read', timeoutMs: 10_000 });
    const marks = (await admin.evaluate(`['fleet:totals', 'fleet:first-rows'].map((n) => performance.getEntriesByName(n).length)`)) as number[];
    expect(marks).toEqual([1, 1]);
    expect(await admin.locator('.breakdowns').textContent()).toMatch(/orchard\s*2/);
  });

  it("lists a device's OTA history, newest first, paged, with versions and the failure reason; the device page shows it", async () => {
    const token = (await admin.evaluate(`JSON.parse(sessionStorage.getItem('outpost.session')).token`)) as string;
    const first = await uploadArtifact(env.platform.operatorUrl, token, key, { name: 'orchard-app', version: '1.0.0', bytes: 32 * 1024 });
    const second = await uploadArtifact(env.platform.operatorUrl, token, key, { name: 'orchard-app', version: '1.1.0', bytes: 48 * 1024 });
    const device = env.devices.get('ota-hist-01');
    if (device === undefined) throw new Error('no ota-hist-01');

    // 1.0.0 goes in; then 1.1.0 fails on the device with a reason.
    const r1 = await env.client.api('POST', '/api/v1/rollouts', { name: 'orchard 1.0.0', artifactId: first.id, target: { devices: ['ota-hist-01'] }, waves: [{ percent: 100 }] });
    expect(r1.status).toBe(201);
    await waitFor(() => device.jobs.length === 1, { description: 'the first job on the device', timeoutMs: 10_000 });
    await env.progress('ota-hist-01', 'downloading', { percent: 50, bytes: 16 * 1024 });
    await env.progress('ota-hist-01', 'succeeded', { percent: 100, bytes: 32 * 1024 });
    const r1Id = (r1.body as { id: string }).id;
    await waitFor(async () => ((await env.client.api('GET', `/api/v1/rollouts/${r1Id}/devices`)).body as { items: { state: string }[] }).items[0]?.state === 'succeeded', {
      description: 'the first rollout stored the success',
      timeoutMs: 10_000,
    });
    if (((await env.client.api('GET', `/api/v1/rollouts/${r1Id}`)).body as { state: string }).state !== 'succeeded') {
      expect((await env.client.api('POST', `/api/v1/rollouts/${r1Id}/abort`)).status).toBe(200);
    }
    const r2 = await env.client.api('POST', '/api/v1/rollouts', { name: 'orchard 1.1.0', artifactId: second.id, target: { devices: ['ota-hist-01'] }, waves: [{ percent: 100 }] });
    expect(r2.status).toBe(201);
    await waitFor(() => device.jobs.length === 2, { description: 'the second job on the device', timeoutMs: 10_000 });
    await device.mqtt.publishAsync(
      'devices/ota-hist-01/ota/progress',
      JSON.stringify({ v: 1, jobId: device.jobs[1]?.jobId, state: 'failed', error: { code: 'OTA_HEALTH_CHECK_FAILED', message: 'health check exited 3 after activation' }, at: Date.now() }),
      { qos: 1 },
    );
    await waitFor(async () => ((await env.client.api('GET', '/api/v1/devices/ota-hist-01/ota')).body as { items: HistoryEntry[] }).items[0]?.state === 'failed', {
      description: 'the failure in the history',
      timeoutMs: 10_000,
    });

    const all = (await env.client.api('GET', '/api/v1/devices/ota-hist-01/ota')).body as { items: HistoryEntry[]; nextCursor?: string };
    expect(all.nextCursor).toBeUndefined();
    expect(all.items.map((e) => e.rolloutName)).toEqual(['orchard 1.1.0', 'orchard 1.0.0']);
    expect(all.items[0]).toMatchObject({ state: 'failed', artifact: { name: 'orchard-app', version: '1.1.0' }, from: { version: '1.0.0' }, error: { code: 'OTA_HEALTH_CHECK_FAILED', message: 'health check exited 3 after activation' } });
    expect(all.items[1]).toMatchObject({ state: 'succeeded', artifact: { version: '1.0.0' }, from: null, error: null });
    expect(all.items[1]?.finishedAt).toEqual(expect.any(Number));
    // Paged: one at a time, the cursor leads to the older one and no further.
    const p1 = (await env.client.api('GET', '/api/v1/devices/ota-hist-01/ota?limit=1')).body as { items: HistoryEntry[]; nextCursor?: string };
    expect(p1.items.map((e) => e.rolloutName)).toEqual(['orchard 1.1.0']);
    const p2 = (await env.client.api('GET', `/api/v1/devices/ota-hist-01/ota?limit=1&cursor=${encodeURIComponent(p1.nextCursor ?? '')}`)).body as { items: HistoryEntry[]; nextCursor?: string };
    expect(p2.items.map((e) => e.rolloutName)).toEqual(['orchard 1.0.0']);
    const p3 = (await env.client.api('GET', `/api/v1/devices/ota-hist-01/ota?limit=1&cursor=${encodeURIComponent(p2.nextCursor ?? '')}`)).body as { items: HistoryEntry[]; nextCursor?: string };
    expect(p3).toEqual({ items: [] });
    // Refusals: an unknown device, a forged cursor, no token; a device never in a rollout has an empty history.
    expect(await env.client.api('GET', '/api/v1/devices/no-such-device/ota')).toMatchObject({ status: 404, body: { code: 'DEVICE_NOT_FOUND' } });
    expect(await env.client.api('GET', '/api/v1/devices/ota-hist-01/ota?cursor=bm9wZQ')).toMatchObject({ status: 400, body: { code: 'CURSOR_INVALID' } });
    expect((await fetch(`${env.platform.operatorUrl}/api/v1/devices/ota-hist-01/ota`)).status).toBe(401);
    expect((await env.client.api('GET', '/api/v1/devices/ota-hist-02/ota')).body).toEqual({ items: [] });
    // The OpenAPI document names the route.
    const openapi = (await env.client.api('GET', '/api/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/devices/{id}/ota', '/api/v1/fleet/summary']));

    await admin.goto(`${env.platform.operatorUrl}/devices/ota-hist-01`);
    const panel = admin.getByTestId('ota-history');
    await panel.locator('tr[data-state=failed]').waitFor({ timeout: 10_000 });
    const failed = (await panel.locator('tr[data-state=failed]').textContent()) ?? '';
    expect(failed).toContain('orchard 1.1.0');
    expect(failed).toContain('orchard-app@1.0.0 → orchard-app@1.1.0');
    expect(failed).toContain('OTA_HEALTH_CHECK_FAILED: health check exited 3 after activation');
    expect(await panel.locator('tr[data-state=succeeded]').textContent()).toContain('— → orchard-app@1.0.0');
    await panel.scrollIntoViewIfNeeded();
    await env.screenshot(admin, 'device-ota-history');
    await admin.goto(`${env.platform.operatorUrl}/devices/ota-hist-02`);
    await admin.getByTestId('ota-history').getByText('This device was in no rollout yet.').waitFor({ timeout: 10_000 });
  });
  it("draws a rule's backtest over the metric's chart: the would-have-fired alerts as bands, with their count", async () => {
    // ota-hist-01's temperature is 22 + 5·sin(m/6) over the last hour: above 25 twice.
    const rule = { id: 'warm-orchard', name: 'warm orchard', kind: 'threshold', metric: 'temperature', condition: '>', threshold: 25, forMs: 0, severity: 'warning', scope: {} };
    expect((await env.client.api('POST', '/api/v1/rules', rule)).status).toBe(201);
    const to = Date.now();
    const api = (await env.client.api('POST', '/api/v1/rules/warm-orchard/test', { from: to - 3_600_000, to })).body as { transitions: { deviceId: string; state: string }[] };
    const firings = api.transitions.filter((t) => t.deviceId === 'ota-hist-01' && t.state === 'firing').length;
    expect(firings).toBeGreaterThanOrEqual(2);

    await admin.goto(`${env.platform.operatorUrl}/rules`);
    await admin.locator('tr[data-rule="warm-orchard"]').getByRole('button', { name: 'Backtest' }).click();
    await admin.getByLabel('Replay').selectOption({ label: 'last hour' });
    await admin.getByRole('button', { name: 'Run backtest' }).click();
    const chart = admin.getByTestId('backtest-chart');
    await waitFor(async () => Number(await chart.getAttribute('data-points')) > 0, { description: 'the backtest chart drawn', timeoutMs: 10_000 });
    // The device that would have fired most is charted first, with one band per would-have-fired alert.
    expect(await chart.getAttribute('data-device')).toBe('ota-hist-01');
    expect(Number(await chart.getAttribute('data-alerts'))).toBe(firings);
    expect(await chart.locator('figcaption').textContent()).toContain(`${String(firings)} would-have-fired alerts shaded`);
    // The bands are on the canvas: solid alert-red columns where each alert fired (the mean line is blue).
    const redColumns = (await admin.evaluate(`(() => {
      const c = document.querySelector('[data-testid=backtest-chart] canvas');
      const ctx = c.getContext('2d');
      const { data, width, height } = ctx.getImageData(0, 0, c.width, c.height);
      const columns = new Set();
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        if (data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90 && data[i + 3] > 200) columns.add(x);
      }
      return columns.size;
    })()`)) as number;
    expect(redColumns).toBeGreaterThan(firings);
    await chart.scrollIntoViewIfNeeded();
    await env.screenshot(admin, 'rule-backtest-chart');
    // Another device of the backtest: its own alerts.
    const others = [...new Set(api.transitions.filter((t) => t.state === 'firing' && t.deviceId !== 'ota-hist-01').map((t) => t.deviceId))];
    if (others[0] !== undefined) {
      await admin.getByLabel('Chart of device').selectOption(others[0]);
      await waitFor(async () => (await chart.getAttribute('data-device')) === others[0], { description: 'the other device charted', timeoutMs: 5_000 });
      expect(Number(await chart.getAttribute('data-alerts'))).toBe(api.transitions.filter((t) => t.deviceId === others[0] && t.state === 'firing').length);
    }
  });

  it('uploads a signed bundle from the browser with a progress bar, and shows the server refusing an unknown signer as it said it (admins only)', async () => {
    const files = await signedArtifact(key, { name: 'orchard-app', version: '2.0.0', bytes: 3 * 1024 * 1024 + 17 });
    const stranger = readSigningKeyPem(createSigningKeyPem(undefined).pem, undefined);
    const unknown = await signedArtifact(stranger, { name: 'orchard-app', version: '2.0.1', bytes: 64 * 1024 });
    try {
      await admin.goto(`${env.platform.operatorUrl}/firmware`);
      const form = admin.getByRole('form', { name: 'Upload firmware' });
      await form.getByLabel('Signed manifest (.json)').setInputFiles(files.manifestPath);
      await form.getByLabel('Artifact').setInputFiles(files.artifactPath);
      // The progress bar's values as the page sets them.
      await admin.evaluate(`(() => {
        window.__progress = [];
        new MutationObserver(() => {
          const p = document.querySelector('[data-testid=upload-progress]');
          if (p !== null && window.__progress[window.__progress.length - 1] !== p.value) window.__progress.push(p.value);
        }).observe(document.body, { subtree: true, childList: true, attributes: true });
      })()`);
      await form.getByRole('button', { name: 'Upload' }).click();
      await admin.getByTestId('upload-done').waitFor({ timeout: 20_000 });
      expect(await admin.getByTestId('upload-done').textContent()).toBe(`orchard-app@2.0.0 uploaded (${files.signed.manifest.id}), signed by ${key.keyId}.`);
      expect(Number(await admin.getByTestId('upload-progress').getAttribute('value'))).toBe(100);
      expect(await admin.getByTestId('upload-progress').getAttribute('aria-valuetext')).toBe('100 %, 3.0 MiB of 3.0 MiB');
      console.log(`firmware upload from the browser: progress values seen ${JSON.stringify(await admin.evaluate('window.__progress'))}`);
      await admin.getByRole('table', { name: 'Firmware' }).locator('tr', { hasText: 'orchard-app@2.0.0' }).waitFor();
      const stored = (await env.client.api('GET', `/api/v1/firmware/${files.signed.manifest.id}`)).body as { sha256: string; size: number };
      expect(stored).toMatchObject({ sha256: files.signed.manifest.sha256, size: 3 * 1024 * 1024 + 17 });
      await env.screenshot(admin, 'firmware-upload');

      // An unknown signer: the server's own code and message, word for word.
      const token = (await admin.evaluate(`JSON.parse(sessionStorage.getItem('outpost.session')).token`)) as string;
      const direct = new FormData();
      direct.append('manifest', JSON.stringify(unknown.signed.manifest));
      direct.append('signature', JSON.stringify(unknown.signed.signature));
      direct.append('artifact', new Blob([unknown.bytes]), 'a.tar');
      const said = (await (await fetch(`${env.platform.operatorUrl}/api/v1/firmware`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: direct })).json()) as { code: string; message: string };
      expect(said.code).toBe('OTA_KEY_UNKNOWN');
      await form.getByLabel('Signed manifest (.json)').setInputFiles(unknown.manifestPath);
      await form.getByLabel('Artifact').setInputFiles(unknown.artifactPath);
      await form.getByRole('button', { name: 'Upload' }).click();
      await admin.getByTestId('upload-problem').waitFor({ timeout: 10_000 });
      expect(await admin.getByTestId('upload-problem').textContent()).toBe(`OTA_KEY_UNKNOWN: ${said.message}`);
      await env.screenshot(admin, 'firmware-upload-refused');
      expect((await env.client.api('GET', `/api/v1/firmware/${unknown.signed.manifest.id}`)).status).toBe(404);
      // The wrong artifact for a manifest is caught before any byte is sent.
      await form.getByLabel('Signed manifest (.json)').setInputFiles(files.manifestPath);
      await form.getByLabel('Artifact').setInputFiles(unknown.artifactPath);
      await form.getByRole('button', { name: 'Upload' }).click();
      await waitFor(async () => (await admin.getByTestId('upload-problem').textContent())?.includes('the manifest says 3145745') === true, { description: 'the size mismatch', timeoutMs: 5_000 });

      // An operator sees the artifacts but no upload form.
      expect((await env.client.api('POST', '/api/v1/users', { username: 'olga', password: ADMIN_PASSWORD, role: 'operator' })).status).toBe(201);
      const operator = await env.signedIn('olga');
      await operator.goto(`${env.platform.operatorUrl}/firmware`);
      await operator.getByRole('table', { name: 'Firmware' }).waitFor();
      await expect(operator.getByRole('form', { name: 'Upload firmware' }).count()).resolves.toBe(0);
      await operator.context().close();
    } finally {
      await rm(files.dir, { recursive: true, force: true });
      await rm(unknown.dir, { recursive: true, force: true });
    }
  });
});
