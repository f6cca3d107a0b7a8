/**
 * Pure parsers of the Linux files the system collector reads (procfs, sysfs), so they are
 * tested on text and the collector only does the I/O.
 */

export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/** The aggregate `cpu` line of /proc/stat: busy and total jiffies (iowait counts as idle). */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((value) => !Number.isFinite(value))) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const idleAll = idle + iowait;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idleAll };
}

/** CPU use between two readings, in percent (0..100), or undefined when no time passed. */
export function cpuPercent(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  const busy = Math.min(Math.max(after.busy - before.busy, 0), total);
  return Math.round((busy / total) * 10_000) / 100;
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): { total: number; available: number } | undefined {
  const kib = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  };
  const total = kib('MemTotal');
  const available = kib('MemAvailable') ?? kib('MemFree');
  return total === undefined || available === undefined ? undefined : { total, available };
}

/** The three load averages of /proc/loadavg. */
export function parseLoadavg(text: string): [number, number, number] | undefined {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number);
  if (one === undefined || five === undefined || fifteen === undefined) return undefined;
  if (![one, five, fifteen].every(Number.isFinite)) return undefined;
  return [one, five, fifteen];
}

/** Seconds since boot, from /proc/uptime. */
export function parseUptime(text: string): number | undefined {
  const seconds = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** Received and transmitted bytes of every interface but loopback, from /proc/net/dev. */
export function parseNetDev(text: string): { rx: number; tx: number } | undefined {
  let rx = 0;
  let tx = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    const received = fields[0];
    const sent = fields[8];
    if (name === 'lo' || received === undefined || sent === undefined || !Number.isFinite(received) || !Number.isFinite(sent)) continue;
    rx += received;
    tx += sent;
    found = true;
  }
  return found ? { rx, tx } : undefined;
}

/** A sysfs temperature (milli-°C, an integer) in °C. */
export function parseMilliCelsius(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return undefined;
  return Number(trimmed) / 1000;
}

/**
 * A 1-Wire `w1_slave` file: the first line ends with `crc=XX YES` when the read was good, the
 * second carries `t=<milli-°C>`. A failed CRC is a problem, not a value.
 */
export function parseW1Slave(text: string): { ok: true; celsius: number } | { ok: false; reason: string } {
  const [first = '', second = ''] = text.trim().split('\n');
  if (!/crc=[0-9a-f]{2}\s+YES\s*$/i.test(first)) return { ok: false, reason: 'CRC check failed (no YES on the first line)' };
  const match = /t=(-?\d+)\s*$/.exec(second);
  if (match?.[1] === undefined) return { ok: false, reason: 'no t= value on the second line' };
  return { ok: true, celsius: Number(match[1]) / 1000 };
}
