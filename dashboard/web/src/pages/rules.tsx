import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.js';
import type { BacktestResult, Page, Rule } from '../api/types.js';
import { BacktestChart } from '../components/backtest-chart.js';
import { Problems } from '../components/problems.js';
import { dateTime, value } from '../format.js';
import { canOperate } from '../state/session.js';

const TEMPLATE = {
  name: 'too warm',
  kind: 'threshold',
  metric: 'temperature',
  condition: '>',
  threshold: 30,
  forMs: 60_000,
  severity: 'warning',
  scope: {},
};

const BACKTEST_RANGES: readonly [string, number][] = [
  ['last hour', 3_600_000],
  ['last 24 hours', 86_400_000],
  ['last 7 days', 7 * 86_400_000],
];

/** The fields a rule carries that the editor shows (server-kept fields are left out). */
function editable(rule: Rule): Record<string, unknown> {
  const { createdAt: _c, updatedAt: _u, v: _v, ...rest } = rule as Rule & { createdAt?: number; updatedAt?: number; v?: number };
  return rest;
}

/** Alert rules: list, create and edit with the server's validation, backtest on stored data. */
export default function RulesPage() {
  const [rules, setRules] = useState<Rule[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [editing, setEditing] = useState<{ id?: string; text: string } | undefined>(undefined);
  const [testing, setTesting] = useState<string | undefined>(undefined);

  const load = (): void => {
    api<Page<Rule> | Rule[]>('GET', '/rules').then((p) => setRules(Array.isArray(p) ? p : p.items), setError);
  };
  useEffect(load, []);

  return (
    <section aria-labelledby="rules-title">
      <div class="title-row">
        <h1 id="rules-title">Rules</h1>
        {canOperate.value && editing === undefined && (
          <button type="button" onClick={() => setEditing({ text: JSON.stringify(TEMPLATE, null, 2) })}>
            New rule
          </button>
        )}
      </div>
      <Problems error={error} />
      {editing !== undefined && (
        <RuleEditor
          id={editing.id}
          initial={editing.text}
          onSaved={() => {
            setEditing(undefined);
            load();
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {rules === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : rules.length === 0 ? (
        <p class="muted">No rules yet.</p>
      ) : (
        <div class="panel" style={{ overflowX: 'auto' }}>
          <table class="plain" aria-label="Rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Kind</th>
                <th scope="col">Condition</th>
                <th scope="col">Severity</th>
                <th scope="col">Enabled</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <>
                  <tr data-rule={r.id}>
                    <td>
                      <strong>{r.name}</strong> <span class="muted">{r.id} · v{r.version}</span>
                    </td>
                    <td>{r.kind}</td>
                    <td>
                      {r.metric} {r.condition ?? ''} {r.threshold === undefined ? '' : value(r.threshold)}
                    </td>
                    <td>
                      <span class={`tag sev-${r.severity}`}>{r.severity}</span>
                    </td>
                    <td>{r.enabled ? 'yes' : 'no'}</td>
                    <td>
                      {canOperate.value && (
                        <button type="button" class="secondary" onClick={() => setEditing({ id: r.id, text: JSON.stringify(editable(r), null, 2) })}>
                          Edit
                        </button>
                      )}
                      {' '}
                      <button type="button" class="secondary" aria-expanded={testing === r.id} onClick={() => setTesting(testing === r.id ? undefined : r.id)}>
                        Backtest
                      </button>
                    </td>
                  </tr>
                  {testing === r.id && (
                    <tr>
                      <td colSpan={6}>
                        <Backtest rule={r} />
                      </td>
                    </tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RuleEditor(props: { id: string | undefined; initial: string; onSaved: () => void; onCancel: () => void }) {
  const [text, setText] = useState(props.initial);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(new Error(`not JSON: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    setBusy(true);
    try {
      if (props.id === undefined) await api('POST', '/rules', body);
      else await api('PUT', `/rules/${encodeURIComponent(props.id)}`, body);
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel stack" onSubmit={(e) => void save(e)} aria-label={props.id === undefined ? 'New rule' : `Edit rule ${props.id}`}>
      <h2>{props.id === undefined ? 'New rule' : `Edit ${props.id}`}</h2>
      <label>
        Rule (JSON; see the Rule payload: kind threshold, absence or rate; scope by devices, groups or tags)
        <textarea name="rule" rows={14} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <Problems error={error} />
      <span class="row">
        <button type="submit" disabled={busy}>
          Save rule
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </span>
    </form>
  );
}

/** Devices of a backtest, the one that would have fired most first. */
function firingDevices(result: BacktestResult): string[] {
  const counts = new Map<string, number>();
  for (const t of result.transitions) if (t.state === 'firing') counts.set(t.deviceId, (counts.get(t.deviceId) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id]) => id);
}

function Backtest({ rule }: { rule: Rule }) {
  const ruleId = rule.id;
  const [rangeMs, setRangeMs] = useState(86_400_000);
  const [result, setResult] = useState<BacktestResult | undefined>(undefined);
  const [chartDevice, setChartDevice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const to = Date.now();
      const answer = await api<BacktestResult>('POST', `/rules/${encodeURIComponent(ruleId)}/test`, { from: to - rangeMs, to });
      setResult(answer);
      setChartDevice(firingDevices(answer)[0]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="stack">
      <span class="row">
        <label>
          Replay
          <select value={String(rangeMs)} onChange={(e) => setRangeMs(Number(e.currentTarget.value))}>
            {BACKTEST_RANGES.map(([label, ms]) => (
              <option value={String(ms)}>{label}</option>
            ))}
          </select>
        </label>
        <button type="button" disabled={busy} onClick={() => void run()}>
          Run backtest
        </button>
      </span>
      <Problems error={error} />
      {result !== undefined && (
        <div data-testid="backtest">
          <p>
            {result.samples} samples from {result.devices} devices: would have fired <strong>{result.counts.firing}</strong> times and resolved {result.counts.resolved} times.
          </p>
          {chartDevice !== undefined && (
            <>
              <label>
                Chart of device
                <select value={chartDevice} onChange={(e) => setChartDevice(e.currentTarget.value)}>
                  {firingDevices(result).map((id) => (
                    <option value={id}>{id}</option>
                  ))}
                </select>
              </label>
              <BacktestChart result={result} metric={rule.metric} deviceId={chartDevice} {...(typeof rule.threshold === 'number' && rule.kind === 'threshold' ? { threshold: rule.threshold } : {})} />
            </>
          )}
          {result.transitions.length > 0 && (
            <table class="plain">
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Device</th>
                  <th scope="col">Transition</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {result.transitions.slice(0, 100).map((t) => (
                  <tr>
                    <td>{dateTime(t.ts)}</td>
                    <td>{t.deviceId}</td>
                    <td>{t.state}</td>
                    <td>{value(t.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
