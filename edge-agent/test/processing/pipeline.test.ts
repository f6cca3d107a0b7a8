import { afterEach, describe, expect, it } from 'vitest';
import type { Collector, EdgeAlert, Limits, Rule, TelemetrySample } from '@outpost/protocol';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { createPipeline } from '../../src/processing/index.js';
import { FakeHost } from '../collectors/fake-host.js';
import { createTestScheduler, sample } from './marbles.js';

const host = new FakeHost();
afterEach(() => host.cleanup());

const limits: Limits = { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 };

/** temp = 30 + 10·sin(2πt/40 ms): 30, 40, 30, 20, 30… at t = 0, 10, 20, 30, 40… */
const wave: Collector = { type: 'simulated', intervalMs: 10, metrics: { temp: { base: 30, amplitude: 10, periodS: 0.04 } } };

const hot: Rule = {
  v: 1,
  id: 'hot',
  name: 'too hot',
  kind: 'threshold',
  scope: {},
  metric: 'temp',
  condition: '>',
  threshold: 35,
  forMs: 0,
  severity: 'critical',
  cooldownMs: 0,
  enabled: true,
};

function alert(state: EdgeAlert['state'], value: number, ts: number): EdgeAlert {
  return { v: 1, ruleId: 'hot', state, metric: 'temp', value, ts, severity: 'critical' };
}

describe('pipeline', () => {
  it('samples on the scheduler, batches, raises local alerts, and flushes on stop', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ expectObservable }) => {
      const pipeline = createPipeline(
        { collectors: [wave], processing: { batch: { maxSamples: 2, maxAgeMs: 100 } }, rules: [hot], limits },
        { scheduler },
      );
      scheduler.schedule(() => void pipeline.stop(), 45);
      expectObservable(pipeline.batches).toBe('----------x-------------------y--------------(z|)', {
        x: [sample(0, { temp: 30 }), sample(10, { temp: 40 })],
        y: [sample(20, { temp: 30 }), sample(30, { temp: 20 })],
        z: [sample(40, { temp: 30 })],
      });
      expectObservable(pipeline.alerts).toBe('----------x---------y------------------------|', {
        x: alert('firing', 40, 10),
        y: alert('resolved', 30, 20),
      });
    });
  });

  it('windows, then applies the deadband, before batching', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ expectObservable }) => {
      const steady: Collector = { type: 'simulated', intervalMs: 10, metrics: { temp: { base: 30, amplitude: 10, periodS: 0.04 }, hum: { base: 50 } } };
      const pipeline = createPipeline(
        { collectors: [steady], processing: { window: { ms: 40, fn: 'max' }, deadband: { hum: 1 }, batch: { maxSamples: 1, maxAgeMs: 1000 } }, limits },
        { scheduler },
      );
      scheduler.schedule(() => void pipeline.stop(), 85);
      // Windows [0,40) and [40,80) close at 40 and 80; [80,…) is flushed by stop. hum never moves: sent once.
      const windows = '----------------------------------------x---------------------------------------y----(z|)';
      expectObservable(pipeline.batches).toBe(windows, {
        x: [sample(0, { temp: 40, hum: 50 })],
        y: [sample(40, { temp: 40 })],
        z: [sample(80, { temp: 30 })],
      });
    });
  });

  it('collects on demand between ticks', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ expectObservable }) => {
      const slow: Collector = { type: 'simulated', intervalMs: 1000, metrics: { n: { base: 1 } } };
      const pipeline = createPipeline({ collectors: [slow], processing: { batch: { maxSamples: 10, maxAgeMs: 20 } }, limits }, { scheduler });
      scheduler.schedule(() => void pipeline.collectNow(), 5);
      scheduler.schedule(() => void pipeline.stop(), 30);
      expectObservable(pipeline.batches).toBe('--------------------x---------|', { x: [sample(0, { n: 1 }), sample(5, { n: 1 })] });
    });
  });

  it('clamps batches to the server limits whatever processing asks for', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ expectObservable }) => {
      const many: Collector = { type: 'simulated', intervalMs: 1, metrics: { a: { base: 1 }, b: { base: 2 }, c: { base: 3 } } };
      const tight: Limits = { ...limits, maxSamples: 2, maxMetrics: 2 };
      const pipeline = createPipeline({ collectors: [many], processing: { batch: { maxSamples: 500, maxAgeMs: 1000 } }, limits: tight }, { scheduler });
      scheduler.schedule(() => void pipeline.stop(), 2);
      expectObservable(pipeline.batches).toBe('xy|', {
        x: [sample(0, { a: 1, b: 2 }), sample(0, { c: 3 })],
        y: [sample(1, { a: 1, b: 2 }), sample(1, { c: 3 })],
      });
    });
  });

  it('reads real files and runs real programs, and counts their problems', async () => {
    const procRoot = await host.tree({ loadavg: '0.10 0.20 0.30 1/1 1\n', meminfo: 'MemTotal: 100 kB\nMemAvailable: 40 kB\n' });
    const script = await host.script('echo "probe.ok=1"; echo "probe bad line"');
    const collectors: Collector[] = [
      { type: 'system', intervalMs: 60_000 },
      { type: 'command', intervalMs: 60_000, cmd: script, timeoutMs: 5000, format: 'kv' },
    ];
    const pipeline = createPipeline(
      { collectors, processing: { batch: { maxSamples: 2, maxAgeMs: 60_000 } }, limits },
      { procRoot, sysRoot: await host.dir(), diskPath: procRoot },
    );
    const batch = await firstValueFrom(pipeline.batches);
    const metrics = Object.assign({}, ...batch.map((s: TelemetrySample) => s.metrics)) as Record<string, unknown>;
    expect(metrics).toMatchObject({ 'load.1': 0.1, 'mem.used_bytes': 60 * 1024, 'probe.ok': 1 });
    await pipeline.stop();
    expect(pipeline.stats?.()).toMatchObject({ samples: 2, batches: 1, collectors: [{ type: 'system' }, { type: 'command', errors: 1 }] });
  });

  it('waits on stop for a collection under way, and emits its sample in the last batch', async () => {
    const script = await host.script('sleep 0.2; echo "late=1"');
    const pipeline = createPipeline({
      collectors: [{ type: 'command', intervalMs: 60_000, cmd: script, timeoutMs: 5000, format: 'kv' }],
      processing: { batch: { maxSamples: 10, maxAgeMs: 60_000 } },
      limits,
    });
    const all = lastValueFrom(pipeline.batches.pipe(toArray()));
    const alerts = lastValueFrom(pipeline.alerts.pipe(toArray()));
    const collecting = pipeline.collectNow();
    await pipeline.stop();
    await collecting;
    const batches = await all;
    expect(batches.flat().map((s) => s.metrics)).toEqual([{ late: 1 }]);
    expect(await alerts).toEqual([]);
    await expect(pipeline.collectNow()).rejects.toMatchObject({ code: 'PIPELINE_STOPPED' });
  });

  it('refuses collectNow before anyone subscribed', async () => {
    const pipeline = createPipeline({ collectors: [wave], limits });
    await expect(pipeline.collectNow()).rejects.toMatchObject({ code: 'PIPELINE_NOT_STARTED' });
    await pipeline.stop();
  });
});
