/**
 * Backtest: replays stored telemetry (`TelemetryStore.raw()`, paged) of the devices in a
 * rule's scope through the same operators as the live engine, on a virtual clock driven by
 * sample time (arrivedAt = ts, as `rules/test/operators/replay-parity.test.ts` pins down), and
 * answers the transitions it would have made. Absence rules expect the known devices in scope
 * from `from`; timers past `to` never run. Bounded: the range and the samples read.
 */
import type { Rule } from '@outpost/protocol';
import { OutpostError } from '@outpost/protocol';
import { evaluateRules, type RuleSample, type RuleTransition } from '@outpost/rules';
import type { RawPoint, TelemetryStore } from '@outpost/telemetry';
import { Subject, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import type { ScopeResolver } from './scope-resolver.js';
import { needsRegistry } from './scope-resolver.js';


export interface BacktestTransition {
  readonly deviceId: string;
  readonly state: 'firing' | 'resolved';
  readonly value: number | null;
  readonly ts: number;
  readonly severity: Rule['severity'];
  readonly late: boolean;
}

export interface BacktestResult {
  readonly ruleId: string;
  readonly from: number;
  readonly to: number;
  readonly samples: number;
  readonly devices: number;
  readonly counts: { readonly firing: number; readonly resolved: number };
  readonly transitions: BacktestTransition[];
}

export interface BacktestDeps {
  readonly telemetry: TelemetryStore | undefined;
  readonly scope: ScopeResolver;
  /** Devices the live engine expects for absence rules (known devices in scope). */
  readonly expectedDevices: (rule: Rule) => Iterable<string>;
  readonly options: { readonly latenessMs: number; readonly backtestMaxRangeMs: number; readonly backtestMaxSamples: number; readonly backtestPageSize: number };
}

/** Reads every raw point of the rule's metric in [from, to) for the devices in scope, in time order, bounded. */
async function readPoints(deps: BacktestDeps, telemetry: TelemetryStore, rule: Rule, from: number, to: number): Promise<RawPoint[]> {
  const { backtestMaxSamples: max, backtestPageSize } = deps.options;
  const points: RawPoint[] = [];
  const deviceIds = rule.scope.devices;
  let cursor = from;
  let limit = backtestPageSize;
  for (;;) {
    const page = await telemetry.raw({ metric: rule.metric, from: cursor, to, limit, ...(deviceIds === undefined ? {} : { deviceIds }) });
    const first = page[0];
    const last = page[page.length - 1];
    if (page.length < limit || first === undefined || last === undefined) {
      points.push(...page);
      break;
    }
    if (first.ts === last.ts) {
      // A whole page at one instant: read it again with a larger page (bounded by the sample limit).
      if (limit > max) throw tooLarge(max);
      limit *= 2;
      continue;
    }
    // Points at the page's last instant may continue on the next page: that page starts there.
    for (const point of page) if (point.ts < last.ts) points.push(point);
    cursor = last.ts;
    limit = backtestPageSize;
    if (points.length > max) throw tooLarge(max);
  }
  if (points.length > max) throw tooLarge(max);
  return points;
}

function tooLarge(max: number): OutpostError {
  return new OutpostError('RULE_TEST_TOO_LARGE', `the range holds more than ${max} samples of this metric: test a shorter range or a narrower scope`, { status: 400 });
}

export async function backtest(deps: BacktestDeps, rule: Rule, from: number, to: number): Promise<BacktestResult> {
  if (!(to > from)) throw new OutpostError('RULE_TEST_INVALID', `"to" (${to}) must be after "from" (${from})`);
  if (to - from > deps.options.backtestMaxRangeMs) {
    throw new OutpostError('RULE_TEST_INVALID', `the range is ${Math.ceil((to - from) / 3_600_000)} h long; at most ${Math.floor(deps.options.backtestMaxRangeMs / 3_600_000)} h can be tested at once`);
  }
  const telemetry = deps.telemetry;
  if (telemetry === undefined) throw new OutpostError('ALERTS_TELEMETRY_UNAVAILABLE', 'no telemetry store is configured: there is nothing to test against');
  const raw = await readPoints(deps, telemetry, rule, from, to);
  const deviceIds = new Set(raw.map((p) => p.deviceId));
  if (needsRegistry(rule.scope)) await deps.scope.prefetch(deviceIds);
  const points = raw.filter((p) => deps.scope.inScope(rule, p.deviceId));

  const scheduler = new VirtualTimeScheduler(VirtualAction, from);
  scheduler.frame = from;
  const advance = (t: number): void => {
    scheduler.maxFrames = t;
    scheduler.flush();
    scheduler.frame = t;
  };
  const samples = new Subject<RuleSample>();
  const transitions: RuleTransition[] = [];
  const expected = [...deps.expectedDevices(rule)];
  const rules$ = new Subject<readonly Rule[]>();
  const subscription = samples
    .pipe(
      evaluateRules(rules$, {
        scheduler,
        latenessMs: deps.options.latenessMs,
        inScope: (r, deviceId) => deps.scope.inScope(r, deviceId),
        expectedDevices: () => expected,
      }),
    )
    .subscribe((t) => transitions.push(t));
  try {
    rules$.next([{ ...rule, enabled: true }]);
    for (const point of points) {
      if (point.ts > scheduler.frame) advance(point.ts);
      samples.next({ deviceId: point.deviceId, metric: rule.metric, value: point.value, ts: point.ts, arrivedAt: point.ts });
    }
    advance(to);
  } finally {
    subscription.unsubscribe();
  }
  const answer = transitions
    .filter((t) => t.ts < to)
    .map((t): BacktestTransition => ({ deviceId: t.deviceId, state: t.state, value: t.value, ts: t.ts, severity: t.severity, late: t.late }));
  return {
    ruleId: rule.id,
    from,
    to,
    samples: points.length,
    devices: new Set(points.map((p) => p.deviceId)).size,
    counts: { firing: answer.filter((t) => t.state === 'firing').length, resolved: answer.filter((t) => t.state === 'resolved').length },
    transitions: answer,
  };
}
