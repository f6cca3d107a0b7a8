/**
 * The `system` collector: CPU use (between two readings, so the first reading has none),
 * memory, disk use of one file system, load averages, uptime, network bytes, and the SoC
 * temperature from sysfs thermal zones (the zone whose type names the CPU/SoC, else the first).
 * A missing source (no thermal zone in a container) leaves its metrics out, reported once; any
 * other read problem is counted and logged.
 */
import { readdir, readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { SystemCollector } from '@outpost/protocol';
import type { CollectorDeps, CollectorSource, CollectorStats, Metrics } from './collector-source.js';
import { ErrorCounter } from './error-counter.js';
import { cpuPercent, parseLoadavg, parseMeminfo, parseMilliCelsius, parseNetDev, parseProcStat, parseUptime } from './proc-readers.js';
import type { CpuTimes } from './proc-readers.js';

export function createSystemCollector(config: SystemCollector, deps: CollectorDeps = {}): CollectorSource {
  const procRoot = deps.procRoot ?? '/proc';
  const sysRoot = deps.sysRoot ?? '/sys';
  const diskPath = deps.diskPath ?? '/';
  const errors = new ErrorCounter({ collector: 'system' }, deps.log);
  const unavailable = new Set<string>();
  let lastCpu: CpuTimes | undefined;

  async function read(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (!unavailable.has(file)) {
          unavailable.add(file);
          deps.log?.warn({ collector: 'system', file }, 'collector: source not available on this system; its metrics are left out');
        }
      } else {
        errors.report(`cannot read ${file}: ${(error as Error).message}`, { file });
      }
      return undefined;
    }
  }

  function parsed<T>(file: string, text: string | undefined, parse: (text: string) => T | undefined): T | undefined {
    if (text === undefined) return undefined;
    const value = parse(text);
    if (value === undefined) errors.report(`cannot parse ${file}`, { file });
    return value;
  }

  async function socTemperature(metrics: Metrics): Promise<void> {
    const thermal = path.join(sysRoot, 'class', 'thermal');
    let zones: string[];
    try {
      zones = (await readdir(thermal)).filter((name) => /^thermal_zone\d+$/.test(name));
    } catch {
      zones = [];
    }
    zones.sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
    if (zones.length === 0) {
      if (!unavailable.has(thermal)) {
        unavailable.add(thermal);
        deps.log?.warn({ collector: 'system', dir: thermal }, 'collector: no thermal zone; temp.soc_c is left out');
      }
      return;
    }
    let chosen = zones[0];
    for (const zone of zones) {
      const type = await readFile(path.join(thermal, zone, 'type'), 'utf8').catch(() => '');
      if (/cpu|soc/i.test(type)) {
        chosen = zone;
        break;
      }
    }
    const file = path.join(thermal, chosen ?? '', 'temp');
    const celsius = parsed(file, await read(file), parseMilliCelsius);
    if (celsius !== undefined) metrics['temp.soc_c'] = celsius;
  }

  async function disk(metrics: Metrics): Promise<void> {
    try {
      const info = await statfs(diskPath);
      const used = info.blocks - info.bfree;
      const usable = used + info.bavail;
      if (usable > 0) metrics['disk.used_percent'] = Math.round((used / usable) * 10_000) / 100;
    } catch (error) {
      errors.report(`cannot statfs ${diskPath}: ${(error as Error).message}`, { path: diskPath });
    }
  }

  return {
    type: 'system',
    intervalMs: config.intervalMs,
    async collect(): Promise<Metrics> {
      const metrics: Metrics = {};
      const file = (name: string): string => path.join(procRoot, name);
      const [stat, meminfo, loadavg, uptime, netdev] = await Promise.all(
        ['stat', 'meminfo', 'loadavg', 'uptime', 'net/dev'].map((name) => read(file(name))),
      );
      const cpu = parsed(file('stat'), stat, parseProcStat);
      if (cpu !== undefined) {
        const percent = lastCpu === undefined ? undefined : cpuPercent(lastCpu, cpu);
        if (percent !== undefined) metrics['cpu.percent'] = percent;
        lastCpu = cpu;
      }
      const memory = parsed(file('meminfo'), meminfo, parseMeminfo);
      if (memory !== undefined) {
        metrics['mem.used_bytes'] = memory.total - memory.available;
        metrics['mem.available_bytes'] = memory.available;
      }
      const load = parsed(file('loadavg'), loadavg, parseLoadavg);
      if (load !== undefined) [metrics['load.1'], metrics['load.5'], metrics['load.15']] = load;
      const seconds = parsed(file('uptime'), uptime, parseUptime);
      if (seconds !== undefined) metrics['uptime.s'] = seconds;
      const net = parsed(file('net/dev'), netdev, parseNetDev);
      if (net !== undefined) {
        metrics['net.rx_bytes'] = net.rx;
        metrics['net.tx_bytes'] = net.tx;
      }
      await Promise.all([disk(metrics), socTemperature(metrics)]);
      return metrics;
    },
    stats: (): CollectorStats => errors.stats(),
    close: () => undefined,
  };
}
