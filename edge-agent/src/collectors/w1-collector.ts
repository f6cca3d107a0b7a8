/**
 * The `w1` collector: 1-Wire temperature sensors (DS18B20 and kin) under sysfs. For each sensor
 * directory it reads `temperature` (milli-°C, newer kernels) or else `w1_slave` (whose CRC line
 * must say YES). Metric `w1.<sensor id>_c` in °C. A listed sensor that is missing, a failed CRC or
 * an unreadable value is a counted, logged problem; the other sensors still report.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { W1Collector } from '@outpost/protocol';
import type { CollectorDeps, CollectorSource, Metrics } from './collector-source.js';
import { ErrorCounter } from './error-counter.js';
import { metricNameProblem } from './metric-names.js';
import { parseMilliCelsius, parseW1Slave } from './proc-readers.js';

export function w1MetricName(sensorId: string): string {
  return `w1.${sensorId}_c`;
}

export function createW1Collector(config: W1Collector, deps: CollectorDeps = {}): CollectorSource {
  const dir = config.path ?? path.join(deps.sysRoot ?? '/sys', 'bus', 'w1', 'devices');
  const errors = new ErrorCounter({ collector: 'w1', dir }, deps.log);

  async function sensorIds(): Promise<string[]> {
    if (config.sensors !== undefined) return [...config.sensors];
    try {
      return (await readdir(dir)).filter((name) => !name.startsWith('w1_bus_master') && /^[A-Za-z0-9_.-]{1,64}$/.test(name)).sort();
    } catch (error) {
      errors.report(`cannot list 1-Wire devices in ${dir}: ${(error as Error).message}`);
      return [];
    }
  }

  async function readSensor(id: string): Promise<number | undefined> {
    const base = path.join(dir, id);
    const temperature = await readFile(path.join(base, 'temperature'), 'utf8').catch((error: NodeJS.ErrnoException) => error);
    if (typeof temperature === 'string') {
      const celsius = parseMilliCelsius(temperature);
      if (celsius === undefined) errors.report(`sensor ${id}: unreadable temperature ${JSON.stringify(temperature.trim().slice(0, 40))}`, { sensor: id });
      return celsius;
    }
    const slave = await readFile(path.join(base, 'w1_slave'), 'utf8').catch((error: NodeJS.ErrnoException) => error);
    if (typeof slave !== 'string') {
      // A directory without either file is not a thermometer (e.g. a 1-Wire switch): skipped unless listed.
      if (config.sensors !== undefined || temperature.code !== 'ENOENT') errors.report(`sensor ${id}: ${slave.code === 'ENOENT' ? 'not found' : slave.message}`, { sensor: id });
      return undefined;
    }
    const reading = parseW1Slave(slave);
    if (!reading.ok) {
      errors.report(`sensor ${id}: ${reading.reason}`, { sensor: id });
      return undefined;
    }
    return reading.celsius;
  }

  return {
    type: 'w1',
    intervalMs: config.intervalMs,
    async collect(): Promise<Metrics> {
      const metrics: Metrics = {};
      for (const id of await sensorIds()) {
        const name = w1MetricName(id);
        const problem = metricNameProblem(name);
        if (problem !== undefined) {
          errors.report(`sensor ${id}: ${problem}`, { sensor: id });
          continue;
        }
        const celsius = await readSensor(id);
        if (celsius !== undefined) metrics[name] = celsius;
      }
      return metrics;
    },
    stats: () => errors.stats(),
    close: () => undefined,
  };
}
