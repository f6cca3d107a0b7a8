/**
 * CPU and memory of a set of process trees, read from /proc, for the cluster bench
 * (bench/src/cluster.ts): the Outpost nodes by pid, and the services (Redis, PostgreSQL,
 * HAProxy) by the TCP port they listen on, each with its descendants (PostgreSQL's backends).
 *
 * CPU of a tree = utime + stime + cutime + cstime of every live process in it: a child that
 * exited and was reaped is counted once, in its parent's cutime/cstime.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

const CLOCK_TICKS_PER_S = 100;

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  readonly cpuS: number;
}

async function statOf(pid: number): Promise<ProcStat | undefined> {
  try {
    const text = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    // Fields after "(comm) ": state ppid … utime(11) stime(12) cutime(13) cstime(14), 0-based from state.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { pid, ppid: Number(fields[1]), cpuS: ticks / CLOCK_TICKS_PER_S };
  } catch {
    return undefined; // gone
  }
}

async function rssBytesOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
    // RssAnon: private memory only. VmRSS would count PostgreSQL's shared buffers once per backend.
    return Number(/^RssAnon:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/**
 * The pids holding a listening TCP socket on `port` (IPv4 or IPv6; with `ipv4`, only on that
 * address), found through the socket inode in /proc/net/tcp* and the processes' fd links. Run it
 * before clients connect: it reads every fd of every process.
 *
 * Give the address when other processes listen on the same port number elsewhere: on loopback
 * the broker nodes listen on HAProxy's port numbers at 127.0.0.11–13, and a lookup by port
 * alone counted them as HAProxy (session 21's "HAProxy 90 KiB per session" was the brokers' again).
 */
export async function pidsListeningOn(port: number, ipv4?: string): Promise<number[]> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  // /proc/net/tcp writes an IPv4 address as its 32 bits in host (little-endian) order: 127.0.0.1 = 0100007F.
  const hexAddress = ipv4 === undefined ? undefined : ipv4.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
  const tables = hexAddress === undefined ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/tcp'];
  for (const table of tables) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A = LISTEN; inode is column 9.
      const local = cols[1] ?? '';
      if (local.endsWith(`:${hexPort}`) && (hexAddress === undefined || local === `${hexAddress}:${hexPort}`) && cols[3] === '0A' && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  const found: number[] = [];
  for (const pid of await allPids()) {
    const fds = await readdir(`/proc/${String(pid)}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${String(pid)}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

export interface TreeSample {
  readonly cpuS: number;
  /** Private resident memory (RssAnon) of the tree. */
  readonly rssBytes: number;
  readonly processes: number;
}

/** One group of process trees (e.g. "the broker nodes", "Redis"), sampled together. */
export class ProcessGroup {
  readonly name: string;
  #roots: () => readonly number[];

  /** `roots` is read at each sample: a node that was killed and started again has a new pid. */
  constructor(name: string, roots: () => readonly number[]) {
    this.name = name;
    this.#roots = roots;
  }

  async sample(): Promise<TreeSample> {
    const stats = (await Promise.all((await allPids()).map(statOf))).filter((s): s is ProcStat => s !== undefined);
    const children = new Map<number, number[]>();
    for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
    const byPid = new Map(stats.map((s) => [s.pid, s]));
    const inTree = new Set<number>();
    const queue = this.#roots().filter((pid) => pid > 0 && byPid.has(pid));
    while (queue.length > 0) {
      const pid = queue.pop() as number;
      if (inTree.has(pid)) continue;
      inTree.add(pid);
      queue.push(...(children.get(pid) ?? []));
    }
    let cpuS = 0;
    let rssBytes = 0;
    for (const pid of inTree) {
      cpuS += byPid.get(pid)?.cpuS ?? 0;
      rssBytes += await rssBytesOf(pid);
    }
    return { cpuS, rssBytes, processes: inTree.size };
  }
}

/** Samples several groups at once; `total` is their sum. */
export async function sampleGroups(groups: readonly ProcessGroup[]): Promise<{ byGroup: Map<string, TreeSample>; total: TreeSample }> {
  const samples = await Promise.all(groups.map(async (g) => [g.name, await g.sample()] as const));
  const total = samples.reduce((a, [, s]) => ({ cpuS: a.cpuS + s.cpuS, rssBytes: a.rssBytes + s.rssBytes, processes: a.processes + s.processes }), { cpuS: 0, rssBytes: 0, processes: 0 });
  return { byGroup: new Map(samples), total };
}
