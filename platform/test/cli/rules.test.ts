import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';

const TOKEN = 'sess_rules_cli_test';
const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

type StoredRule = Record<string, unknown> & { id: string; version: number };

/** A stand-in for the alerts module's `/api/v1/rules` routes with the contract's answer shapes, on 127.0.0.1:0. */
async function startFakeRulesApi(): Promise<{ url: string; requests: Recorded[]; rules: Map<string, StoredRule>; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const rules = new Map<string, StoredRule>();
  let generated = 0;
  const answer = (status: number, body?: unknown) => ({ status, body });
  const invalid = (rule: Record<string, unknown>) =>
    rule['metric'] === undefined ? answer(400, { code: 'RULE_INVALID', message: 'invalid rule (1 problem): metric: missing "metric"', details: [{ path: 'rule', message: 'missing "metric"' }] }) : undefined;
  function route(r: Recorded): { status: number; body?: unknown } {
    const body = (r.body ?? {}) as Record<string, unknown>;
    // As the server does: defaults filled in (absence rules need no condition).
    const stored = (rule: Record<string, unknown>, id: string, version: number): StoredRule => ({ v: 1, scope: {}, forMs: 0, cooldownMs: 0, enabled: true, condition: '>', ...rule, id, version, createdAt: NOW, updatedAt: NOW });
    if (r.path === '/api/v1/rules' && r.method === 'GET') return answer(200, { items: [...rules.values()] });
    if (r.path === '/api/v1/rules' && r.method === 'POST') {
      const refused = invalid(body);
      if (refused !== undefined) return refused;
      const id = typeof body['id'] === 'string' ? body['id'] : `rule_gen${++generated}`;
      if (rules.has(id)) return answer(409, { code: 'RULE_EXISTS', message: `a rule ${id} exists already` });
      const rule = stored(body, id, 1);
      rules.set(id, rule);
      return answer(201, rule);
    }
    const m = /^\/api\/v1\/rules\/([^/]+)(\/test)?$/.exec(r.path);
    if (m !== null) {
      const id = decodeURIComponent(m[1] ?? '');
      const current = rules.get(id);
      if (current === undefined) return answer(404, { code: 'RULE_NOT_FOUND', message: `no rule ${id}` });
      if (m[2] === '/test' && r.method === 'POST') {
        return answer(200, {
          ruleId: id,
          from: body['from'],
          to: body['to'],
          samples: 42,
          devices: 2,
          counts: { firing: 1, resolved: 1 },
          transitions: [
            { deviceId: 'freezer-01', state: 'firing', value: -12.5, ts: NOW - 3_600_000, severity: 'critical', late: false },
            { deviceId: 'freezer-01', state: 'resolved', value: -19, ts: NOW - 1_800_000, severity: 'critical', late: false },
          ],
        });
      }
      if (r.method === 'PUT') {
        const refused = invalid(body);
        if (refused !== undefined) return refused;
        const rule = stored(body, id, current.version + 1);
        rules.set(id, rule);
        return answer(200, rule);
      }
    }
    return answer(404, { code: 'NOT_FOUND', message: `no route ${r.method} ${r.path}` });
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: Recorded = { method: req.method ?? 'GET', path: url.pathname, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      requests.push(recorded);
      const out = req.headers.authorization === `Bearer ${TOKEN}` ? route(recorded) : answer(401, { code: 'UNAUTHENTICATED', message: 'authentication required' });
      res.statusCode = out.status;
      if (out.body === undefined) return res.end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, rules, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('outpost rules', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let api: Awaited<ReturnType<typeof startFakeRulesApi>>;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    api = await startFakeRulesApi();
    env = { OUTPOST_SERVER: api.url, OUTPOST_TOKEN: TOKEN };
    api.rules.set('freezer-warm', { v: 1, id: 'freezer-warm', name: 'freezer too warm', kind: 'threshold', scope: {}, metric: 'temperature', condition: '>', threshold: -15, forMs: 300_000, severity: 'critical', cooldownMs: 0, enabled: true, version: 3, createdAt: NOW, updatedAt: NOW });
    api.rules.set('silent', { v: 1, id: 'silent', name: 'device silent', kind: 'absence', scope: {}, metric: 'temperature', condition: '>', absenceMs: 600_000, forMs: 0, severity: 'warning', cooldownMs: 0, enabled: false, version: 1, createdAt: NOW, updatedAt: NOW });
  });
  afterEach(async () => {
    await api.close();
    await home.cleanup();
  });

  it('lists rules as a table', async () => {
    const result = await outpost(['rules', 'list'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'ID            NAME              METRIC       CONDITION     SEVERITY  ENABLED  VERSION',
      'freezer-warm  freezer too warm  temperature  > -15 for 5m  critical  yes      3',
      'silent        device silent     temperature  silent 10m    warning   no       1',
    ]);
  });

  it('applies a YAML file: updates the rule with a known id, creates the others', async () => {
    const file = join(home.dir, 'rules.yaml');
    await writeFile(
      file,
      [
        '- id: freezer-warm',
        '  name: freezer too warm',
        '  kind: threshold',
        '  metric: temperature',
        "  condition: '>'",
        '  threshold: -12',
        '  severity: critical',
        '- id: fridge-warm',
        '  name: fridge too warm',
        '  kind: threshold',
        '  metric: temperature',
        "  condition: '>'",
        '  threshold: 8',
        '  severity: warning',
        '- name: no id',
        '  kind: absence',
        '  metric: temperature',
        '  absenceMs: 300000',
        '  severity: info',
      ].join('\n'),
    );
    const result = await outpost(['rules', 'apply', '-f', file], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Updated rule freezer-warm (version 4).\nCreated rule fridge-warm (version 1).\nCreated rule rule_gen1 (version 1).\n', stderr: '' });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /api/v1/rules/freezer-warm', 'PUT /api/v1/rules/fridge-warm', 'POST /api/v1/rules', 'POST /api/v1/rules']);
    expect(api.rules.get('freezer-warm')).toMatchObject({ threshold: -12, version: 4 });
  });

  it('applies a JSON file holding one rule', async () => {
    const file = join(home.dir, 'rule.json');
    await writeFile(file, JSON.stringify({ id: 'one', name: 'one', kind: 'threshold', metric: 'humidity', condition: '>=', threshold: 90, severity: 'info' }));
    const result = await outpost(['rules', 'apply', '-f', file], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Created rule one (version 1).\n', stderr: '' });
  });

  it('reports each refused rule and exits 1, still applying the others', async () => {
    const file = join(home.dir, 'rules.json');
    await writeFile(file, JSON.stringify({ rules: [{ id: 'bad', name: 'bad', kind: 'threshold' }, { id: 'good', name: 'good', kind: 'threshold', metric: 'x', condition: '>', threshold: 1, severity: 'info' }] }));
    const result = await outpost(['rules', 'apply', '-f', file], { home: home.dir, env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('Created rule good (version 1).\n');
    expect(lines(result.stderr)).toEqual(['error: rule bad: invalid rule (1 problem): metric: missing "metric" (RULE_INVALID)', 'error: 1 of 2 rules refused']);
  });

  it('refuses a file that is not YAML in one line', async () => {
    const file = join(home.dir, 'broken.yaml');
    await writeFile(file, 'a: [1, 2\n');
    const result = await outpost(['rules', 'apply', '-f', file], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*broken\.yaml is neither valid YAML nor JSON: /);
  });

  it('backtests a rule over a range given as a duration back from now', async () => {
    const result = await outpost(['rules', 'test', 'freezer-warm', '--from', '7d'], { home: home.dir, env, now: () => NOW });
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)).toEqual({ method: 'POST', path: '/api/v1/rules/freezer-warm/test', body: { from: NOW - 7 * 86_400_000, to: NOW } });
    expect(lines(result.stdout)).toEqual([
      'Rule freezer-warm from 2026-01-24T12:00:00Z to 2026-01-31T12:00:00Z: 42 samples of 2 devices, 1 firing, 1 resolved.',
      '',
      'TIME                  DEVICE      STATE     VALUE',
      '2026-01-31T11:00:00Z  freezer-01  firing    -12.5',
      '2026-01-31T11:30:00Z  freezer-01  resolved  -19',
    ]);
  });

  it('takes RFC 3339 times and prints JSON with --json', async () => {
    const result = await outpost(['rules', 'test', 'freezer-warm', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--json'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ruleId: 'freezer-warm', from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 0, 2), counts: { firing: 1 } });
  });

  it('refuses a bad --from without calling the server, and reports an unknown rule', async () => {
    const bad = await outpost(['rules', 'test', 'freezer-warm', '--from', 'last tuesday'], { home: home.dir, env, fetch: noFetch });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --from "last tuesday"');
    const missing = await outpost(['rules', 'test', 'nope', '--from', '1h'], { home: home.dir, env });
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'error: no rule nope (RULE_NOT_FOUND)\n' });
  });
});
