/**
 * The dashboard in real Chromium against the real platform (issue 14): log in, the fleet shows
 * the enrolled devices with their live state, a device page's live chart takes a new point
 * within 2 s of the device publishing it, an alert is acknowledged with a comment, a rule is
 * refused with the server's reasons then saved, and a viewer sees no mutating buttons while a
 * forged admin call from the viewer's page gets 403. One browser for the file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@outpost/e2e';
import { buildManifest, buildTrustSet, createSigningKeyPem, readSigningKeyPem, signManifest, signTrustSet } from '@outpost/ota/signing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startBrowserEnv, type BrowserEnv } from './browser-env.js';

const DEVICES = [
  { id: 'gh-sensor-01', group: 'greenhouse', historyMinutes: 45 },
  { id: 'gh-sensor-02', group: 'greenhouse', historyMinutes: 45 },
  { id: 'cold-room-01', group: 'cold-store', historyMinutes: 30 },
];

describe('the web dashboard in Chromium', () => {
  let env: BrowserEnv;
  let admin: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    env = await startBrowserEnv(DEVICES);
    admin = await env.signedIn('admin');
    // Chromium logs every non-2xx answer (the refused rule's 400) as "Failed to load resource": not an app error.
    admin.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));
    admin.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('shows the fleet: every device, online, by group and firmware, from the real API', async () => {
    await waitFor(async () => (await admin.getByTestId('online').textContent())?.includes('3 online') === true, { description: '3 devices online on the fleet page', timeoutMs: 10_000 });
    expect(await admin.getByTestId('total').textContent()).toContain('3 devices');
    for (const d of DEVICES) await expect(admin.getByRole('link', { name: d.id }).isVisible()).resolves.toBe(true);
    const text = (await admin.locator('.breakdowns').textContent()) ?? '';
    expect(text).toContain('greenhouse');
    expect(text).toContain('cold-store');
    expect(text).toContain('greenhouse-app@2.1.0');
    // Search narrows the table to the matching rows.
    await admin.getByLabel('Search').fill('cold');
    await waitFor(async () => (await admin.locator('.vlist [role=row]').count()) === 1, { description: 'one row after searching "cold"', timeoutMs: 10_000 });
    await env.screenshot(admin, 'fleet-search');
    await admin.getByLabel('Search').fill('');
    await env.screenshot(admin, 'fleet');

    // Live totals: a device going offline and back moves the counts without a reload.
    const device = env.devices.get('gh-sensor-02');
    await device?.mqtt.publishAsync('devices/gh-sensor-02/status', JSON.stringify({ v: 1, state: 'offline' }), { qos: 1, retain: true });
    await waitFor(async () => (await admin.getByTestId('online').textContent())?.includes('2 online') === true, { description: '2 online after gh-sensor-02 went offline', timeoutMs: 5_000 });
    expect(await admin.getByTestId('offline').textContent()).toContain('1 offline');
    await env.online('gh-sensor-02');
    await waitFor(async () => (await admin.getByTestId('online').textContent())?.includes('3 online') === true, { description: '3 online again', timeoutMs: 5_000 });
  });

  it('opens a device whose live chart takes a new point within 2 s of the device sending it', async () => {
    await admin.getByRole('link', { name: 'gh-sensor-01' }).click();
    await admin.getByRole('heading', { name: 'gh-sensor-01' }).waitFor();
    const chart = admin.locator('figure.chart[data-metric="temperature"]');
    await waitFor(async () => Number(await chart.getAttribute('data-points')) >= 40, { description: 'the temperature history charted', timeoutMs: 10_000 });
    await admin.getByText('live', { exact: true }).waitFor();
    expect(await admin.getByTestId('cert-expiry').textContent()).toMatch(/in \d+ days/);
    expect(await admin.getByTestId('outbox-depth').textContent()).toContain('3 batches');

    const sentAt = Date.now();
    await env.publish('gh-sensor-01', { temperature: 42.125, humidity: 51 }, sentAt);
    await waitFor(async () => (await chart.getAttribute('data-last-value')) === '42.125', { description: 'the live point on the chart', timeoutMs: 2_000, intervalMs: 20 });
    const elapsed = Date.now() - sentAt;
    console.log(`live chart: the new point was drawn ${String(elapsed)} ms after the device published it`);
    expect(elapsed).toBeLessThan(2_000);
    expect(Number(await chart.getAttribute('data-last-ts'))).toBe(sentAt);
    expect(await admin.locator('[data-testid=latest] tr[data-metric=temperature]').textContent()).toContain('42.125');
    await env.screenshot(admin, 'device');

    // A long range asks for whole-minute buckets, which the embedded store answers from its minute rollup.
    await admin.getByLabel('Time range').selectOption({ label: '30 days' });
    const caption = chart.locator('figcaption');
    await waitFor(async () => /\d+ points, per \d+m$/.test((await caption.textContent()) ?? ''), { description: 'the 30-day chart in whole-minute buckets', timeoutMs: 10_000 });
  });

  it('acknowledges a firing alert with a comment', async () => {
    const created = await env.client.api('POST', '/api/v1/rules', { id: 'too-hot', name: 'too hot', kind: 'threshold', metric: 'temperature', condition: '>', threshold: 60, forMs: 0, severity: 'critical', cooldownMs: 0 });
    expect(created.status).toBe(201);
    await env.publish('cold-room-01', { temperature: 75 });
    const firing = await waitFor(async () => {
      const list = await env.client.api('GET', '/api/v1/alerts?state=firing');
      return (list.body as { items: { id: string; deviceId: string }[] }).items.find((a) => a.deviceId === 'cold-room-01');
    }, { description: 'the alert firing', timeoutMs: 10_000 });

    await admin.getByRole('link', { name: 'Alerts' }).click();
    const row = admin.locator(`tr[data-alert="${firing.id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.getByLabel('Comment').fill('door left open, closing it');
    await row.getByRole('button', { name: 'Confirm acknowledge' }).click();
    await waitFor(async () => (await row.getAttribute('data-state')) === 'acknowledged', { description: 'the row acknowledged', timeoutMs: 10_000 });
    const stored = await env.client.api('GET', `/api/v1/alerts/${firing.id}`);
    expect(stored.body).toMatchObject({ state: 'acknowledged', ack: { by: 'admin', comment: 'door left open, closing it' } });
    await row.getByRole('button', { name: 'History' }).click();
    await row.getByRole('list', { name: `History of ${firing.id}` }).getByText(/firing at 75/).waitFor();
    await env.screenshot(admin, 'alerts');
  });

  it('creates a rule: the server refuses it with its reasons, then takes the fixed one', async () => {
    await admin.getByRole('link', { name: 'Rules' }).click();
    await admin.getByRole('button', { name: 'New rule' }).click();
    const editor = admin.getByLabel(/^Rule \(JSON/);
    const rule = { id: 'humid', name: 'too humid', kind: 'threshold', metric: 'humidity', condition: '>', forMs: 0, severity: 'warning' };
    await editor.fill(JSON.stringify(rule, null, 2));
    await admin.getByRole('button', { name: 'Save rule' }).click();
    const problems = admin.getByTestId('problems');
    await problems.waitFor();
    const said = (await problems.textContent()) ?? '';
    expect(said).toMatch(/threshold/);
    await env.screenshot(admin, 'rule-refused');
    expect((await env.client.api('GET', '/api/v1/rules/humid')).status).toBe(404);

    await editor.fill(JSON.stringify({ ...rule, threshold: 80 }, null, 2));
    await admin.getByRole('button', { name: 'Save rule' }).click();
    await admin.locator('tr[data-rule="humid"]').waitFor();
    expect((await env.client.api('GET', '/api/v1/rules/humid')).body).toMatchObject({ threshold: 80, severity: 'warning' });
    // The backtest replays the stored humidity (never above 80 in the history).
    await admin.locator('tr[data-rule="humid"]').getByRole('button', { name: 'Backtest' }).click();
    await admin.getByRole('button', { name: 'Run backtest' }).click();
    await admin.getByTestId('backtest').waitFor();
    expect(await admin.getByTestId('backtest').textContent()).toMatch(/would have fired 0 times/);
    await env.screenshot(admin, 'rules');
    expect(consoleErrors).toEqual([]);
  });

  it('creates an enrollment token shown once with its enroll line, and an admin creates a user', async () => {
    await admin.getByRole('link', { name: 'Enrollment' }).click();
    await admin.getByRole('heading', { name: 'New enrollment token' }).waitFor();
    const form = admin.getByRole('form', { name: 'New enrollment token' });
    await form.getByLabel('Group').fill('orchard');
    await form.getByLabel('Devices (uses)').fill('5');
    await form.getByRole('button', { name: 'Create token' }).click();
    const line = (await admin.getByTestId('enroll-command').textContent()) ?? '';
    expect(line).toMatch(/^outpost-agent enroll --server https:\/\/\S+ --token \S+ --ca-fingerprint sha256:[0-9a-f]{64}$/);
    const ca = (await env.client.api('GET', '/api/v1/ca')).body as { fingerprint: string };
    expect(line.endsWith(ca.fingerprint)).toBe(true);
    await admin.getByRole('table', { name: 'Enrollment tokens' }).getByText('orchard').waitFor();
    await env.screenshot(admin, 'enrollment');
    // Shown once: after Done, no page shows the secret again.
    await admin.getByRole('button', { name: 'Done' }).click();
    const secret = /--token (\S+)/.exec(line)?.[1] ?? '';
    expect(secret.length).toBeGreaterThan(10);
    expect(await admin.content()).not.toContain(secret);

    await admin.getByRole('link', { name: 'Users & tokens' }).click();
    const newUser = admin.getByRole('form', { name: 'New user' });
    await newUser.getByLabel('Username').fill('otto');
    await newUser.getByLabel(/^Password/).fill('otto-the-operator-1');
    await newUser.getByLabel('Role').selectOption('operator');
    await newUser.getByRole('button', { name: 'Create user' }).click();
    await admin.getByRole('table', { name: 'Users' }).getByText('otto').waitFor();
    expect((await env.client.api('GET', '/api/v1/users/otto')).body).toMatchObject({ username: 'otto', role: 'operator' });
    await env.screenshot(admin, 'users');
  });

  it('starts a rollout of a signed artifact and shows per-device download progress live', async () => {
    // The operator's side, offline: a signing key the platform trusts, an artifact signed with it.
    const key = readSigningKeyPem(createSigningKeyPem(undefined).pem, undefined);
    const trusted = await env.client.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(1, [key]), [key]) });
    expect(trusted.status).toBe(201);
    const dir = await mkdtemp(join(tmpdir(), 'outpost-web-fw-'));
    try {
      const file = join(dir, 'app.tar');
      await writeFile(file, Buffer.alloc(64 * 1024, 7));
      const signed = signManifest(await buildManifest(file, { name: 'greenhouse-app', version: '2.2.0', type: 'archive', hardware: ['pi4'], createdAt: Date.now() }), key);
      const form = new FormData();
      form.append('manifest', JSON.stringify(signed.manifest));
      form.append('signature', JSON.stringify(signed.signature));
      form.append('artifact', new Blob([Buffer.alloc(64 * 1024, 7)]), 'app.tar');
      const token = (await admin.evaluate(`JSON.parse(sessionStorage.getItem('outpost.session')).token`)) as string;
      const uploaded = await fetch(`${env.platform.operatorUrl}/api/v1/firmware`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      expect(uploaded.status).toBe(201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    await admin.getByRole('link', { name: 'Firmware', exact: true }).click();
    const row = admin.getByRole('table', { name: 'Firmware' }).locator('tr', { hasText: 'greenhouse-app@2.2.0' });
    await row.waitFor();
    expect(await row.textContent()).toContain(key.keyId);
    expect(await row.textContent()).toContain('pi4');
    await env.screenshot(admin, 'firmware');
    await row.getByRole('link', { name: 'Roll out…' }).click();
    const form = admin.getByRole('form', { name: 'New rollout' });
    await form.waitFor();
    await form.getByLabel('Name').fill('greenhouse 2.2.0');
    await form.getByLabel('Target devices').fill('gh-sensor-02');
    await form.getByLabel('Waves (cumulative)').fill('100%');
    await form.getByRole('button', { name: 'Create rollout' }).click();
    await admin.getByRole('heading', { name: 'greenhouse 2.2.0' }).waitFor();
    await waitFor(async () => (await admin.getByTestId('rollout-state').textContent()) === 'running', { description: 'the rollout running', timeoutMs: 10_000 });

    const device = env.devices.get('gh-sensor-02');
    await waitFor(() => (device?.jobs.length ?? 0) > 0, { description: 'the job reaching the device over MQTT', timeoutMs: 10_000 });
    await env.progress('gh-sensor-02', 'downloading', { percent: 40, bytes: 26_214 });
    await waitFor(async () => (await admin.getByTestId('ro-percent-gh-sensor-02').textContent())?.includes('40%') === true, { description: '40% shown for gh-sensor-02', timeoutMs: 5_000 });
    expect(await admin.getByTestId('ro-state-gh-sensor-02').textContent()).toBe('downloading');
    await env.screenshot(admin, 'rollout');

    await admin.getByRole('button', { name: 'Pause' }).click();
    await waitFor(async () => (await admin.getByTestId('rollout-state').textContent()) === 'paused', { description: 'the rollout paused', timeoutMs: 10_000 });
  });

  it('shows a viewer no mutating buttons, and refuses a forged admin call from their page (403)', async () => {
    const created = await env.client.api('POST', '/api/v1/users', { username: 'vera', password: ADMIN_PASSWORD, role: 'viewer' });
    expect(created.status).toBe(201);
    const viewer = await env.signedIn('vera');
    await expect(viewer.getByRole('link', { name: 'Users & tokens' }).count()).resolves.toBe(0);
    await viewer.getByRole('link', { name: 'gh-sensor-02' }).click();
    await viewer.getByRole('heading', { name: 'gh-sensor-02' }).waitFor();
    await viewer.locator('figure.chart').first().waitFor();
    for (const name of ['Suspend', 'Revoke', 'Edit desired config', 'Send']) await expect(viewer.getByRole('button', { name }).count()).resolves.toBe(0);
    await viewer.getByRole('link', { name: 'Alerts' }).click();
    await viewer.getByRole('table', { name: 'Alerts' }).waitFor();
    await expect(viewer.getByRole('button', { name: 'Acknowledge' }).count()).resolves.toBe(0);
    await viewer.getByRole('link', { name: 'Rules' }).click();
    await viewer.locator('tr[data-rule="too-hot"]').waitFor();
    await expect(viewer.getByRole('button', { name: 'New rule' }).count()).resolves.toBe(0);
    await expect(viewer.getByRole('button', { name: 'Edit' }).count()).resolves.toBe(0);
    await env.screenshot(viewer, 'viewer-rules');

    // The page's own token, used by hand the way a curious viewer would from the devtools console.
    const forged = (await viewer.evaluate(`(async () => {
      const { token } = JSON.parse(sessionStorage.getItem('outpost.session'));
      const res = await fetch('/api/v1/users', {
        method: 'POST',
        headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'mallory', password: 'a-long-enough-password', role: 'admin' }),
      });
      return { status: res.status, body: await res.json() };
    })()`)) as { status: number; body: { code: string } };
    expect(forged.status).toBe(403);
    expect(forged.body.code).toBe('FORBIDDEN');
    expect((await env.client.api('GET', '/api/v1/users/mallory')).status).toBe(404);
  });

  it('works by keyboard alone, and reads at phone width in dark mode', async () => {
    const context = await env.chromium.browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const phone = await context.newPage();
    await phone.goto(`${env.platform.operatorUrl}/`);
    // Keyboard only: the username field, Tab to the password, Enter signs in.
    await phone.getByLabel('Username').focus();
    await phone.keyboard.type('admin');
    await phone.keyboard.press('Tab');
    expect(await phone.evaluate('document.activeElement.name')).toBe('password');
    await phone.keyboard.type(ADMIN_PASSWORD);
    await phone.keyboard.press('Enter');
    await phone.getByRole('heading', { name: 'Fleet' }).waitFor();
    await waitFor(async () => (await phone.locator('.vlist [role=row]').count()) === 3, { description: 'the three rows', timeoutMs: 10_000 });
    // A focused control shows a visible outline.
    await phone.getByRole('link', { name: 'Alerts' }).focus();
    await phone.keyboard.press('Shift+Tab');
    await phone.keyboard.press('Tab');
    const outline = (await phone.evaluate('getComputedStyle(document.activeElement).outlineStyle')) as string;
    expect(outline).toBe('solid');
    // Dark: the page background is dark; nothing overflows the phone's width.
    const background = (await phone.evaluate('getComputedStyle(document.body).backgroundColor')) as string;
    const [r = 255, g = 255, b = 255] = (background.match(/\d+/g) ?? []).map(Number);
    expect(r + g + b).toBeLessThan(150);
    expect((await phone.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(390);
    await env.screenshot(phone, 'phone-dark-fleet');
    await phone.getByRole('link', { name: 'gh-sensor-01' }).click();
    await phone.locator('figure.chart').first().waitFor();
    await waitFor(async () => Number(await phone.locator('figure.chart').first().getAttribute('data-points')) > 0, { description: 'a chart drawn', timeoutMs: 10_000 });
    expect((await phone.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(390);
    await env.screenshot(phone, 'phone-dark-device');
    await context.close();
  });

  it('sends a user whose session ended back to the login page with a message', async () => {
    const page = await env.signedIn('admin');
    const token = (await page.evaluate(`JSON.parse(sessionStorage.getItem('outpost.session')).token`)) as string;
    // Ended elsewhere (another tab, an admin): the page's live stream is closed by the server.
    const ended = await fetch(`${env.platform.operatorUrl}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(ended.status).toBe(204);
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('status').textContent()).toMatch(/session (ended|expired or was ended)/);
    // The login form shows at once; the address moves to /login in the effect after that render
    // (CI on a loaded machine read the old address in between).
    await page.waitForURL((url) => url.pathname === '/login', { timeout: 10_000 });
    await env.screenshot(page, 'session-ended');

    // A token the server no longer knows (expired): the first call's 401 does the same.
    await page.evaluate(`sessionStorage.setItem('outpost.session', JSON.stringify({ username: 'admin', role: 'admin', token: ${JSON.stringify(token)}, expiresAt: Date.now() + 3600000 }))`);
    await page.goto(`${env.platform.operatorUrl}/alerts`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('status').textContent()).toMatch(/session expired or was ended/);

    // A session reaching its expiresAt while the page is open: back to login on time, without a call.
    const fresh = (await env.client.api('POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).body as { token: string };
    await page.evaluate(`sessionStorage.setItem('outpost.session', JSON.stringify({ username: 'admin', role: 'admin', token: ${JSON.stringify(fresh.token)}, expiresAt: Date.now() + 2500 }))`);
    await page.goto(`${env.platform.operatorUrl}/rules`);
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('status').textContent()).toBe('Your session expired. Sign in again.');
    // Signing in again goes back to the page the user was on.
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/rules');
  });
});
