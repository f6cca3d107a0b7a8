/**
 * What `run-all` does, apart from its command line: run each bench as a child process, collect
 * its `BENCH_RESULT` line (result-line.ts), and render one table and one JSON line of everything.
 * A bench that exits non-zero, times out, or prints no result line is a failed bench with its
 * reason; the others are still reported.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { RESULT_PREFIX, type BenchFigure } from './result-line.js';

export interface BenchPlan {
  /** The bench's name in the table and the JSON (e.g. `broker`). */
  readonly bench: string;
  /** The built script, run with this Node. */
  readonly script: string;
  /** The bench's own arguments (its own positional or key=value form). */
  readonly args: readonly string[];
  readonly timeoutMs: number;
}

export type BenchOutcome =
  | { readonly bench: string; readonly args: readonly string[]; readonly ok: true; readonly seconds: number; readonly figures: readonly BenchFigure[] }
  | { readonly bench: string; readonly args: readonly string[]; readonly ok: false; readonly seconds: number; readonly reason: string; readonly figures: readonly BenchFigure[] };

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly mem: string;
  readonly node: string;
  /** The 1-minute load average when the run started: a loaded machine makes every figure noisy. */
  readonly load1: number;
}

export interface RunReport {
  readonly profile: string;
  readonly machine: Machine;
  readonly startedAt: string;
  readonly seconds: number;
  readonly results: readonly BenchOutcome[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    mem: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function isFigure(value: unknown): value is BenchFigure {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Record<string, unknown>;
  return typeof f['name'] === 'string' && typeof f['unit'] === 'string' && (f['value'] === null || typeof f['value'] === 'number');
}

/**
 * The figures of every `BENCH_RESULT` line in a bench's output (normally one, at the end).
 * A result line that is not `{"bench":…,"figures":[…]}` with well-formed figures is an error
 * naming the line, so a bench that breaks its own line fails loudly instead of reporting nothing.
 */
export function parseResultLines(output: string): BenchFigure[] {
  const figures: BenchFigure[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    if (!line.startsWith(RESULT_PREFIX)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(RESULT_PREFIX.length));
    } catch (error) {
      throw new Error(`result line is not JSON (${(error as Error).message}): ${line.slice(0, 200)}`);
    }
    const list = (parsed as { figures?: unknown } | null)?.figures;
    if (!Array.isArray(list) || !list.every(isFigure)) throw new Error(`result line has no well-formed figures: ${line.slice(0, 200)}`);
    figures.push(...list);
  }
  return figures;
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(-n)
    .join(' | ')
    .slice(0, 400);
}

/** Process groups of the benches running now, for `stopRunning` on Ctrl-C. */
const running = new Set<number>();

/** Ends every running bench's process group (the runner was interrupted). */
export function stopRunning(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Runs one bench; its output goes to `echo` line by line (prefixed with its name) as it comes. */
export function runBench(plan: BenchPlan, echo: (line: string) => void): Promise<BenchOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so a timeout also ends the servers the bench spawned.
    const child = spawn(process.execPath, [plan.script, ...plan.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) running.add(child.pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const forward = (stream: NodeJS.ReadableStream, append: (text: string) => void): void => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        append(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) echo(`[${plan.bench}] ${l}`);
      });
      stream.on('end', () => {
        if (partial.length > 0) echo(`[${plan.bench}] ${partial}`);
      });
    };
    forward(child.stdout, (t) => (stdout += t));
    forward(child.stderr, (t) => (stderr += t));
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    let hardKill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      hardKill = setTimeout(() => killGroup('SIGKILL'), 5_000);
    }, plan.timeoutMs);
    const finish = (outcome: BenchOutcome): void => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      if (hardKill !== undefined) clearTimeout(hardKill);
      resolve(outcome);
    };
    child.once('error', (error) => {
      finish({ bench: plan.bench, args: plan.args, ok: false, seconds: (performance.now() - started) / 1000, reason: `could not start: ${error.message}`, figures: [] });
    });
    child.once('close', (code, signal) => {
      // Whatever the bench left running in its group goes with it.
      killGroup('SIGKILL');
      const seconds = (performance.now() - started) / 1000;
      let figures: BenchFigure[] = [];
      let parseError: string | undefined;
      try {
        figures = parseResultLines(stdout);
      } catch (error) {
        parseError = (error as Error).message;
      }
      const base = { bench: plan.bench, args: plan.args, seconds, figures };
      if (timedOut) return finish({ ...base, ok: false, reason: `timed out after ${String(Math.round(plan.timeoutMs / 1000))} s` });
      if (code !== 0) {
        // An uncaught error's message says more than the stack and Node's version after it.
        const thrown = [...stderr.split('\n').map((l) => l.trim()).filter((l) => /^[A-Za-z]*Error\b/.test(l))].pop();
        const tail = thrown?.slice(0, 400) ?? (lastLines(stderr, 3) || lastLines(stdout, 3));
        return finish({ ...base, ok: false, reason: `exited with ${signal ?? String(code)}${tail.length > 0 ? `: ${tail}` : ''}` });
      }
      if (parseError !== undefined) return finish({ ...base, ok: false, reason: parseError });
      if (figures.length === 0) return finish({ ...base, ok: false, reason: `printed no ${RESULT_PREFIX.trim()} line` });
      return finish({ ...base, ok: true });
    });
  });
}

export async function runPlans(profile: string, plans: readonly BenchPlan[], echo: (line: string) => void): Promise<RunReport> {
  const startedAt = new Date().toISOString();
  const measuredMachine = machine();
  const t0 = performance.now();
  const results: BenchOutcome[] = [];
  for (const plan of plans) {
    echo(`── ${plan.bench}: node ${plan.script} ${plan.args.join(' ')}`);
    results.push(await runBench(plan, echo));
  }
  return { profile, machine: measuredMachine, startedAt, seconds: (performance.now() - t0) / 1000, results };
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 1000) return Math.round(value).toLocaleString('en');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratio(f: BenchFigure): string {
  if (f.value === null || f.anchorValue === undefined || f.anchorValue === null || f.anchorValue === 0) return '—';
  return `${(f.value / f.anchorValue).toFixed(2)}×${f.better === undefined ? '' : ` (${f.better} is better)`}`;
}

/** The table: one row per figure (a failed bench is one row with its reason), Markdown-shaped so README can take it as is. */
export function renderTable(report: RunReport): string {
  const header = ['bench', 'figure', 'Outpost', 'anchor', 'ratio', 'goal'];
  const rows: string[][] = [];
  for (const r of report.results) {
    for (const f of r.figures) {
      const anchor = f.anchor === undefined ? '—' : `${f.anchor}: ${formatNumber(f.anchorValue)} ${f.unit}`;
      rows.push([r.bench, f.name, `${formatNumber(f.value)} ${f.unit}`, anchor, ratio(f), f.goal ?? '—']);
    }
    // The whole reason is in the JSON; the table keeps its width.
    if (!r.ok) rows.push([r.bench, `FAILED: ${r.reason.length > 100 ? `${r.reason.slice(0, 99)}…` : r.reason}`, '—', '—', '—', '—']);
  }
  const cells = [header, ...rows].map((row) => row.map((c) => c.replaceAll('|', '\\|')));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const m = report.machine;
  return [
    `profile ${report.profile}: ${String(report.results.filter((r) => r.ok).length)} of ${String(report.results.length)} benches ok in ${report.seconds.toFixed(0)} s; ` +
      `${String(m.cpus)} × ${m.model}, ${m.mem}, Node ${m.node}, load ${String(m.load1)} at start`,
    line(cells[0] ?? header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.slice(1).map(line),
  ].join('\n');
}

/** The one JSON line: `{"profile":…,"machine":{…},"results":[…]}`. */
export function renderJson(report: RunReport): string {
  return JSON.stringify(report);
}
