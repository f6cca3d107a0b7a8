import { describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { requirePort, type Part, type PartFactory, type Readiness } from '@outpost/kernel';
import { ADMIN_PASSWORD, startTestPlatform } from '../helpers/test-platform.js';

function fakePart(name: string, log: string[], overrides: Partial<Part> & { state?: () => Readiness } = {}): PartFactory {
  return () => ({
    name,
    async start() {
      log.push(`start ${name}`);
    },
    ready: overrides.state ?? (() => 'ok'),
    async close() {
      log.push(`close ${name}`);
    },
    ...overrides,
  });
}

describe('part composition', () => {
  it('starts parts in order and closes them in reverse', async () => {
    const log: string[] = [];
    const t = await startTestPlatform({ parts: [fakePart('first', log), fakePart('second', log), fakePart('third', log)] });
    await t.close();
    expect(log).toEqual(['start first', 'start second', 'start third', 'close third', 'close second', 'close first']);
  });

  it('lets a part add guarded routes and metrics, and audits its mutating calls', async () => {
    const factory: PartFactory = (deps) => ({
      name: 'widgets',
      async start() {},
      ready: () => 'ok',
      async close() {},
      routes({ operator }) {
        operator.post('/api/v1/widgets/:id/poke', { onRequest: deps.auth.guard('operator'), schema: { tags: ['widgets'] } }, async () => ({ poked: true }));
      },
      metrics(registry) {
        new Counter({ name: 'outpost_widgets_poked_total', help: 'pokes', registers: [registry] });
      },
    });
    const t = await startTestPlatform({ parts: [factory] });
    try {
      const admin = await t.login('admin', ADMIN_PASSWORD);
      const res = await t.request('POST', '/api/v1/widgets/w-1/poke', { token: admin });
      expect(res.body).toEqual({ poked: true });
      expect((await t.request('POST', '/api/v1/widgets/w-1/poke')).status).toBe(401);
      const audit = await t.request('GET', '/api/v1/audit?action=widgets.poke', { token: admin });
      expect((audit.body as { items: unknown[] }).items).toContainEqual(expect.objectContaining({ actor: 'admin', action: 'widgets.poke', target: 'w-1', outcome: 'success' }));
      expect(await (await fetch(`${t.url}/metrics`)).text()).toContain('outpost_widgets_poked_total');
    } finally {
      await t.close();
    }
  });

  it('refuses to register an /api/v1 route without an auth guard', async () => {
    const factory: PartFactory = () => ({
      name: 'careless',
      async start() {},
      ready: () => 'ok',
      async close() {},
      routes({ operator }) {
        operator.get('/api/v1/open-door', async () => ({}));
      },
    });
    await expect(startTestPlatform({ parts: [factory] })).rejects.toThrow(/has no auth guard/);
  });

  it('answers /readyz 200 with degraded parts and 503 when one is down', async () => {
    let state: Readiness = 'degraded';
    const t = await startTestPlatform({ parts: [fakePart('store', [], { state: () => state })] });
    try {
      let res = await t.request('GET', '/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'degraded', parts: { platform: 'ok', store: 'degraded' } });
      state = 'down';
      res = await t.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'down', parts: { platform: 'ok', store: 'down' } });
    } finally {
      await t.close();
    }
  });

  it('gives up on a part that does not close before the deadline and reports an unclean stop', async () => {
    const log: string[] = [];
    const hanging = fakePart('hanging', log, { close: () => new Promise<void>(() => {}) });
    const t = await startTestPlatform({ parts: [fakePart('early', log), hanging] });
    const started = Date.now();
    const result = await t.platform.close(300);
    expect(result.clean).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(log).toContain('close early');
    await t.close();
  });

  it('hands ports provided by earlier parts to later ones, and maintenance answers false by default', async () => {
    const seen: string[] = [];
    const provider: PartFactory = () => ({ name: 'provider', async start() {}, ready: () => 'ok', async close() {}, provides: { mqttListener: { bound: ({ port }) => seen.push(`bound=${port}`) } } });
    const consumer: PartFactory = (deps) => {
      requirePort(deps.ports, 'mqttListener', 'consumer').bound({ port: 42 });
      seen.push(`updating=${String(deps.ports.maintenance.isUpdating('dev-1'))}`);
      return { name: 'consumer', async start() {}, ready: () => 'ok', async close() {} };
    };
    const t = await startTestPlatform({ parts: [provider, consumer] });
    await t.close();
    expect(seen).toEqual(['bound=42', 'updating=false']);
  });

  it('refuses a part whose port no earlier part provides, naming the provider', async () => {
    const consumer: PartFactory = (deps) => {
      requirePort(deps.ports, 'registry', 'consumer');
      return { name: 'consumer', async start() {}, ready: () => 'ok', async close() {} };
    };
    await expect(startTestPlatform({ parts: [consumer] })).rejects.toMatchObject({
      code: 'PART_PORT_MISSING',
      message: 'the consumer needs the registry port: compose the registry part before the consumer',
    });
  });
});
