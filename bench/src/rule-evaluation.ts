/**
 * The rule engine alone (issue 12, alert p99): the alerts bench's rule set over one sample
 * stream, no spool, no database — CPU per message and per rule evaluation, and what the young
 * generation's collections cost while it runs (count, total and longest scavenge pause, bytes
 * promoted into old space). Sample time runs at `rate` messages per second of sample time, so
 * the windows fill as they would in real time; rounds after the first `warmRounds` (which
 * create every series and fill the 30 s windows) are the steady state.
 *
 *   npm run build && node bench/dist/src/rule-evaluation.js [rules=1000] [metricCount=200] [devices=500] [rate=5000] [rounds=8] [perRound=50000] [warmRounds=3]
 */
import type { Rule } from '@outpost/protocol';
import { BehaviorSubject, Subject, type Observable, type OperatorFunction } from 'rxjs';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { benchRules } from './alert-rules.js';
import { printResult } from './result-line.js';

const ruleCount = Number(process.argv[2] ?? 1000);
const metricCount = Number(process.argv[3] ?? 200);
const devices = Number(process.argv[4] ?? 500);
const rate = Number(process.argv[5] ?? 5000);
const rounds = Number(process.argv[6] ?? 8);
const perRound = Number(process.argv[7] ?? 50_000);
const warmRounds = Math.min(rounds - 1, Number(process.argv[8] ?? 3));

interface RuleSample {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: number;
  readonly ts: number;
  readonly arrivedAt: number;
}
// The rules package is loaded from its build (bench does not depend on it).
const rulesPath = new URL('../../../rules/dist/src/index.js', import.meta.url).href;
const { evaluateRules } = (await import(rulesPath)) as {
  evaluateRules(rules$: Observable<readonly Rule[]>, options: { latenessMs: number; now: () => number; inScope: () => boolean; onEvaluate: () => void }): OperatorFunction<RuleSample, unknown>;
};

let evaluations = 0;
const samples = new Subject<RuleSample>();
samples.pipe(evaluateRules(new BehaviorSubject(benchRules(ruleCount, metricCount)), { latenessMs: 60_000, now: Date.now, inScope: () => true, onEvaluate: () => void (evaluations += 1) })).subscribe();

const scavenges: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as { readonly detail?: { readonly kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges.push(entry.duration);
});
gcObserver.observe({ entryTypes: ['gc'] });
const oldSpaceUsed = (): number => getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;

const metricNames = Array.from({ length: metricCount }, (_, i) => `m${String(i)}`);
const t0 = Date.now();
let seq = 0;
/** One round: `perRound` messages of two samples each, device by device as the alerts bench sends them. */
function round(): { readonly usPerMessage: number; readonly usPerEvaluation: number; readonly wallUsPerMessage: number } {
  const evaluationsBefore = evaluations;
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let k = 0; k < perRound; k++) {
    seq += 1;
    const deviceId = `dev-${String(seq % devices)}`;
    const ts = t0 + (seq * 1000) / rate;
    for (let j = 0; j < 2; j++) samples.next({ deviceId, metric: metricNames[(seq * 7 + j * 13) % metricCount] ?? 'm0', value: (seq * 31 + j) % 100, ts, arrivedAt: ts });
  }
  const wallUsPerMessage = ((performance.now() - started) * 1000) / perRound;
  const used = process.cpuUsage(cpu);
  const us = used.user + used.system;
  return { usPerMessage: us / perRound, usPerEvaluation: us / Math.max(1, evaluations - evaluationsBefore), wallUsPerMessage };
}

const steady: { usPerMessage: number; usPerEvaluation: number; wallUsPerMessage: number }[] = [];
let steadyStart = { scavenges: 0, oldSpace: 0 };
for (let r = 0; r < rounds; r++) {
  if (r === warmRounds) {
    await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver the warm-up's entries
    steadyStart = { scavenges: scavenges.length, oldSpace: oldSpaceUsed() };
  }
  const result = round();
  if (r >= warmRounds) steady.push(result);
  console.log(`  round ${String(r + 1)}${r < warmRounds ? ' (warm-up)' : ''}: ${result.usPerMessage.toFixed(2)} µs CPU per message (${result.wallUsPerMessage.toFixed(2)} µs wall), ${result.usPerEvaluation.toFixed(3)} µs CPU per rule evaluation`);
}
await new Promise((resolve) => setImmediate(resolve));
gcObserver.disconnect();
const steadyPauses = scavenges.slice(steadyStart.scavenges).sort((a, b) => a - b);
const oldSpaceGrowthMB = (oldSpaceUsed() - steadyStart.oldSpace) / 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const usPerMessage = median(steady.map((s) => s.usPerMessage));
const usPerEvaluation = median(steady.map((s) => s.usPerEvaluation));
const wallUsPerMessage = median(steady.map((s) => s.wallUsPerMessage));
const totalPause = steadyPauses.reduce((sum, pause) => sum + pause, 0);
const longest = steadyPauses[steadyPauses.length - 1] ?? 0;

console.log(`rule evaluation: ${String(ruleCount)} rules over ${String(metricCount)} metrics, ${String(devices)} devices, ${String(rounds)} rounds of ${String(perRound)} messages (2 samples each) at ${String(rate)} msg/s of sample time; Node ${process.version}`);
console.log(`  steady state (${String(steady.length)} rounds): ${usPerMessage.toFixed(2)} µs CPU per message (${wallUsPerMessage.toFixed(2)} µs wall; CPU counts every thread, the GC's helpers too), ${usPerEvaluation.toFixed(3)} µs CPU per rule evaluation (medians)`);
console.log(`  scavenges in steady state: ${String(steadyPauses.length)}, ${totalPause.toFixed(0)} ms in all, longest ${longest.toFixed(1)} ms; old space grew ${oldSpaceGrowthMB.toFixed(1)} MB (what survived the young generation, less what major GCs freed)`);
printResult({
  bench: 'rule-evaluation',
  figures: [
    { name: 'rule engine CPU per message (steady state)', value: usPerMessage, unit: 'µs', better: 'lower' },
    { name: 'rule engine wall time per message (steady state)', value: wallUsPerMessage, unit: 'µs', better: 'lower' },
    { name: 'rule engine CPU per rule evaluation', value: usPerEvaluation, unit: 'µs', better: 'lower' },
    { name: 'longest scavenge pause (steady state)', value: longest, unit: 'ms', better: 'lower' },
    { name: 'scavenge pauses in all (steady state)', value: totalPause, unit: 'ms', better: 'lower' },
  ],
});
