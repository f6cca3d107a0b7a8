import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';

interface RuleAnswer {
  id: string;
  version: number;
  enabled: boolean;
  scope: Record<string, unknown>;
  threshold?: number;
  createdAt: number;
  updatedAt: number;
}
interface ErrorAnswer {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}

describe('alert rules API', () => {
  let p: AlertsPlatform;
  beforeAll(async () => {
    p = await startAlertsPlatform();
  });
  afterAll(async () => {
    await p.close();
  });

  it('creates a rule with a generated id and the defaults filled in', async () => {
    const res = await p.api('POST', '/api/v1/rules', { name: 'freezer', kind: 'threshold', metric: 'temperature', condition: '>', threshold: -15, severity: 'critical' });
    expect(res.status).toBe(201);
    const rule = res.body as RuleAnswer;
    expect(rule).toMatchObject({ v: 1, version: 1, enabled: true, scope: {}, forMs: 0, cooldownMs: 0, threshold: -15 });
    expect(rule.id).toMatch(/^rule_/);
    const read = await p.api('GET', `/api/v1/rules/${rule.id}`);
    expect(read.body).toEqual(rule);
  });

  it('keeps a client id, bumps the version on every change and audits each change', async () => {
    const created = await p.api('POST', '/api/v1/rules', ruleBody({ id: 'freezer-1' }));
    expect(created.status).toBe(201);
    const again = await p.api('POST', '/api/v1/rules', ruleBody({ id: 'freezer-1' }));
    expect(again.status).toBe(409);
    expect((again.body as ErrorAnswer).code).toBe('RULE_EXISTS');

    const changed = await p.api('PUT', '/api/v1/rules/freezer-1', ruleBody({ threshold: -12 }));
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: 'freezer-1', version: 2, threshold: -12 });
    const stale = await p.api('PUT', '/api/v1/rules/freezer-1', ruleBody({ threshold: -10, version: 1 }));
    expect(stale.status).toBe(409);
    expect((stale.body as ErrorAnswer).code).toBe('RULE_CONFLICT');
    const current = await p.api('PUT', '/api/v1/rules/freezer-1', { ...(changed.body as object), threshold: -10 });
    expect(current.body).toMatchObject({ version: 3, threshold: -10 });

    expect((await p.api('DELETE', '/api/v1/rules/freezer-1')).status).toBe(204);
    expect((await p.api('GET', '/api/v1/rules/freezer-1')).status).toBe(404);
    expect((await p.api('DELETE', '/api/v1/rules/freezer-1')).status).toBe(404);

    const audit = (await p.api('GET', '/api/v1/audit?action=rules&limit=50')).body as { items: { action: string; target: string | null; outcome: string }[] };
    const mine = audit.items.filter((e) => e.target === 'freezer-1').map((e) => `${e.action}:${e.outcome}`);
    expect(mine).toEqual(expect.arrayContaining(['rules.create:success', 'rules.create:failure', 'rules.update:success', 'rules.update:failure', 'rules.delete:success']));
  });

  it('refuses an invalid rule with every reason listed', async () => {
    const res = await p.api('POST', '/api/v1/rules', {
      name: 'broken',
      kind: 'threshold',
      metric: '9-lives',
      condition: 'outside',
      range: [10, 5],
      clearThreshold: 3,
      forMs: -5,
      severity: 'loud',
      channels: ['nope'],
      extra: true,
    });
    expect(res.status).toBe(400);
    const body = res.body as ErrorAnswer;
    expect(body.code).toBe('RULE_INVALID');
    const paths = (body.details ?? []).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['rule', 'metric', 'forMs', 'severity', 'range', 'clearThreshold', 'channels[0]']));
    expect(body.details?.find((d) => d.path === 'range')?.message).toBe('lower bound 10 is above upper bound 5');
    expect(body.details?.find((d) => d.path === 'channels[0]')?.message).toBe('no notification channel "nope"');
    expect(body.details?.find((d) => d.path === 'rule')?.message).toContain('"extra"');
  });

  it.each([
    ['a comparison without its threshold', { threshold: undefined }, 'threshold', "required when kind is 'threshold' and condition is '>'"],
    ['a rate rule without ratePerS', { kind: 'rate' }, 'ratePerS', "required when kind is 'rate' and condition is '>'"],
    ['an absence rule without absenceMs', { kind: 'absence', condition: undefined, threshold: undefined }, 'absenceMs', "required when kind is 'absence' (how long a device may stay silent)"],
    ['an inside rule without a range', { condition: 'inside', threshold: undefined }, 'range', "required when condition is 'inside': [lo, hi]"],
    ['a clear threshold on the firing side', { clearThreshold: -10 }, 'clearThreshold', "-10 is on the firing side of threshold -15: a '>' rule clears below it"],
    ['a zero window', { window: { ms: 0, fn: 'mean' } }, 'window.ms', 'must be >= 1'],
    ['a zero absence time', { kind: 'absence', threshold: undefined, absenceMs: 0 }, 'absenceMs', 'must be >= 1'],
    ['a negative cooldown', { cooldownMs: -1 }, 'cooldownMs', 'must be >= 0'],
    ['a reserved metric name', { metric: 'time' }, 'metric', '"time" is a reserved name, never a metric'],
    ['an invalid metric name', { metric: 'a b' }, 'metric', 'must be a metric name: a letter or _, then letters, digits, _ . - (at most 64)'],
    ['an unknown scope key', { scope: { site: 'x' } }, 'scope', 'unknown property "site"'],
  ])('refuses %s', async (_name, overrides, path, message) => {
    const body = JSON.parse(JSON.stringify(ruleBody(overrides))) as Record<string, unknown>;
    const res = await p.api('POST', '/api/v1/rules', body);
    expect(res.status).toBe(400);
    expect((res.body as ErrorAnswer).details).toContainEqual({ path, message });
  });

  it('accepts the three kinds and the four scope forms', async () => {
    for (const body of [
      ruleBody({ scope: {} }),
      ruleBody({ scope: { devices: ['pi-01', 'pi-02'] } }),
      ruleBody({ scope: { groups: ['test'] } }),
      ruleBody({ scope: { tags: { site: 'north' } } }),
      ruleBody({ kind: 'rate', threshold: undefined, ratePerS: 0.5 }),
      ruleBody({ kind: 'absence', condition: undefined, threshold: undefined, absenceMs: 300_000 }),
      ruleBody({ condition: 'outside', threshold: undefined, range: [-30, -15] }),
    ]) {
      const res = await p.api('POST', '/api/v1/rules', JSON.parse(JSON.stringify(body)));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  it('refuses a scope naming an unknown group (when the registry port can tell)', async (ctx) => {
    if (!('groupExists' in p.registry)) ctx.skip('the registry port has no groupExists yet');
    const res = await p.api('POST', '/api/v1/rules', ruleBody({ scope: { groups: ['no-such-group'] } }));
    expect(res.status).toBe(400);
    expect((res.body as ErrorAnswer).details).toContainEqual({ path: 'scope.groups[0]', message: 'no device group "no-such-group"' });
  });

  it('pages through the rules in id order', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) await p.api('POST', '/api/v1/rules', ruleBody({ id }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await p.api('GET', `/api/v1/rules?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      const page = res.body as { items: RuleAnswer[]; nextCursor?: string };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
  });

  it('lets a viewer read rules but not change them', async () => {
    await p.api('POST', '/api/v1/users', { username: 'watcher', password: 'watcher-password-123', role: 'viewer' });
    const login = await fetch(`${p.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'watcher', password: 'watcher-password-123' }) });
    const { token } = (await login.json()) as { token: string };
    const read = await fetch(`${p.operatorUrl}/api/v1/rules`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    const write = await fetch(`${p.operatorUrl}/api/v1/rules`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(ruleBody()) });
    expect(write.status).toBe(403);
  });
});
