import { afterEach, describe, expect, it } from 'vitest';
import { createSystemCollector, metricNameProblem } from '../../src/collectors/index.js';
import { FakeHost, memoryLog, writeTree } from './fake-host.js';

const host = new FakeHost();
afterEach(() => host.cleanup());

const PROC = {
  stat: 'cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\nintr 1\n',
  meminfo: 'MemTotal:        1000000 kB\nMemFree:          200000 kB\nMemAvailable:     600000 kB\n',
  loadavg: '0.52 0.34 0.20 1/123 4567\n',
  uptime: '12345.67 40000.00\n',
  'net/dev':
    'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
    '    lo:  999999     10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0\n' +
    '  eth0:    1000     10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n' +
    ' wlan0:     500      5    0    0    0     0          0         0      700       7    0    0    0     0       0          0\n',
};

const SYS = {
  'class/thermal/thermal_zone0/type': 'acpitz\n',
  'class/thermal/thermal_zone0/temp': '27800\n',
  'class/thermal/thermal_zone1/type': 'cpu-thermal\n',
  'class/thermal/thermal_zone1/temp': '48312\n',
};

describe('system collector', () => {
  it('reads memory, load, uptime, network, disk and the SoC temperature from the given roots', async () => {
    const procRoot = await host.tree(PROC);
    const sysRoot = await host.tree(SYS);
    const collector = createSystemCollector({ type: 'system', intervalMs: 1000 }, { procRoot, sysRoot, diskPath: procRoot });
    const metrics = await collector.collect(0);
    expect(metrics).toMatchObject({
      'mem.used_bytes': 400_000 * 1024,
      'mem.available_bytes': 600_000 * 1024,
      'load.1': 0.52,
      'load.5': 0.34,
      'load.15': 0.2,
      'uptime.s': 12345.67,
      'net.rx_bytes': 1500,
      'net.tx_bytes': 2700,
      'temp.soc_c': 48.312,
    });
    expect(metrics['disk.used_percent']).toBeGreaterThanOrEqual(0);
    expect(metrics['disk.used_percent']).toBeLessThanOrEqual(100);
    // CPU use needs two readings.
    expect(metrics['cpu.percent']).toBeUndefined();
    for (const name of Object.keys(metrics)) expect(metricNameProblem(name), name).toBeUndefined();
  });

  it('reports CPU use between two readings', async () => {
    const procRoot = await host.tree(PROC);
    const collector = createSystemCollector({ type: 'system', intervalMs: 1000 }, { procRoot, sysRoot: await host.dir() });
    await collector.collect(0);
    // +300 busy (user 200, system 100), +100 idle, +0 iowait → 75 %.
    await writeTree(procRoot, { stat: 'cpu  300 0 200 800 100 0 0 0 0 0\n' });
    expect((await collector.collect(1000))['cpu.percent']).toBe(75);
  });

  it('leaves out what the host does not have, says so once, and counts unparsable files', async () => {
    const log = memoryLog();
    const procRoot = await host.tree({ ...PROC, loadavg: 'not numbers\n' });
    const collector = createSystemCollector({ type: 'system', intervalMs: 1000 }, { procRoot, sysRoot: await host.dir(), log });
    const first = await collector.collect(0);
    await collector.collect(1);
    expect(first['temp.soc_c']).toBeUndefined();
    expect(first['load.1']).toBeUndefined();
    expect(first['mem.used_bytes']).toBe(400_000 * 1024);
    expect(log.lines.filter((line) => line.message.includes('no thermal zone'))).toHaveLength(1);
    expect(collector.stats()).toMatchObject({ errors: 2, lastError: expect.stringContaining('loadavg') });
  });

  it('uses the first zone when none names the CPU', async () => {
    const sysRoot = await host.tree({ 'class/thermal/thermal_zone0/type': 'x86_pkg\n', 'class/thermal/thermal_zone0/temp': '-5000\n' });
    const collector = createSystemCollector({ type: 'system', intervalMs: 1000 }, { procRoot: await host.tree(PROC), sysRoot });
    expect((await collector.collect(0))['temp.soc_c']).toBe(-5);
  });

  it('works on this machine’s real /proc', async () => {
    const collector = createSystemCollector({ type: 'system', intervalMs: 1000 });
    await collector.collect(0);
    const metrics = await collector.collect(1);
    expect(metrics['mem.used_bytes']).toBeGreaterThan(0);
    expect(metrics['uptime.s']).toBeGreaterThan(0);
    expect(collector.stats().errors).toBe(0);
  });
});
