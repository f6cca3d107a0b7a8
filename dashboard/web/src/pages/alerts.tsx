import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.js';
import { openLive } from '../api/live.js';
import type { Alert, AlertEvent, Page } from '../api/types.js';
import { Problems } from '../components/problems.js';
import { ago, dateTime, value } from '../format.js';
import { canOperate } from '../state/session.js';

type StateFilter = '' | Alert['state'];

/** Alerts, newest first: firing, acknowledged, resolved; acknowledge with a comment. */
export default function AlertsPage() {
  const [state, setState] = useState<StateFilter>('');
  const [severity, setSeverity] = useState('');
  const [alerts, setAlerts] = useState<Alert[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [acking, setAcking] = useState<string | undefined>(undefined);
  const [history, setHistory] = useState<{ id: string; events?: AlertEvent[] } | undefined>(undefined);
  const showHistory = (id: string): void => {
    if (history?.id === id) {
      setHistory(undefined);
      return;
    }
    setHistory({ id });
    api<Alert & { events: AlertEvent[] }>('GET', `/alerts/${encodeURIComponent(id)}`).then((a) => setHistory({ id, events: a.events }), setError);
  };

  const query = `/alerts?limit=200${state === '' ? '' : `&state=${state}`}${severity === '' ? '' : `&severity=${severity}`}`;
  const load = (): void => {
    api<Page<Alert>>('GET', query).then((p) => setAlerts(p.items), setError);
  };
  useEffect(load, [query]);
  // A transition anywhere reloads the list (at most every half second).
  useEffect(() => {
    let wait: ReturnType<typeof setTimeout> | undefined;
    const close = openLive({
      topics: ['alerts'],
      onEvent: () => {
        wait ??= setTimeout(() => {
          wait = undefined;
          load();
        }, 500);
      },
    });
    return () => {
      close();
      if (wait !== undefined) clearTimeout(wait);
    };
  }, [query]);

  return (
    <section aria-labelledby="alerts-title">
      <div class="title-row">
        <h1 id="alerts-title">Alerts</h1>
        <label>
          State
          <select value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
            <option value="">all</option>
            <option value="firing">firing</option>
            <option value="acknowledged">acknowledged</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">all</option>
            <option value="critical">critical</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </label>
      </div>
      <Problems error={error} />
      {alerts === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : alerts.length === 0 ? (
        <p class="muted">No alerts.</p>
      ) : (
        <div class="panel" style={{ overflowX: 'auto' }}>
          <table class="plain" aria-label="Alerts">
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Rule</th>
                <th scope="col">Device</th>
                <th scope="col">State</th>
                <th scope="col">Value</th>
                <th scope="col">Fired</th>
                <th scope="col">Acknowledged</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr data-alert={a.id} data-state={a.state}>
                  <td>
                    <span class={`tag sev-${a.severity}`}>{a.severity}</span>
                  </td>
                  <td>{a.ruleId}</td>
                  <td>
                    <a href={`/devices/${encodeURIComponent(a.deviceId)}`}>{a.deviceId}</a>
                  </td>
                  <td>
                    {a.state}
                    {a.maintenance ? ' (maintenance)' : ''}
                    {a.late ? ' (late)' : ''}
                  </td>
                  <td>{value(a.value)}</td>
                  <td title={dateTime(a.firedAt)}>{ago(a.firedAt)}</td>
                  <td>{a.ack === undefined ? '—' : `${a.ack.by}, ${ago(a.ack.at)}${a.ack.comment === '' ? '' : `: “${a.ack.comment}”`}`}</td>
                  <td>
                    <button type="button" class="secondary" aria-expanded={history?.id === a.id} onClick={() => showHistory(a.id)}>
                      History
                    </button>{' '}
                    {canOperate.value &&
                      a.state === 'firing' &&
                      (acking === a.id ? (
                        <AckForm
                          alert={a}
                          onDone={(updated) => {
                            setAcking(undefined);
                            setAlerts((list) => list?.map((x) => (x.id === updated.id ? updated : x)));
                          }}
                          onCancel={() => setAcking(undefined)}
                        />
                      ) : (
                        <button type="button" class="secondary" onClick={() => setAcking(a.id)}>
                          Acknowledge
                        </button>
                      ))}
                    {history?.id === a.id && (
                      <ol class="history" aria-label={`History of ${a.id}`}>
                        {history.events === undefined ? (
                          <li aria-busy="true">Loading…</li>
                        ) : (
                          history.events.map((e) => (
                            <li>
                              {dateTime(e.ts)}: {e.state} at {value(e.value)}
                              {e.late ? ' (late)' : ''}
                            </li>
                          ))
                        )}
                      </ol>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function AckForm(props: { alert: Alert; onDone: (a: Alert) => void; onCancel: () => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      props.onDone(await api<Alert>('POST', `/alerts/${encodeURIComponent(props.alert.id)}/ack`, { comment }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="row" onSubmit={(e) => void submit(e)} onKeyDown={(e) => e.key === 'Escape' && props.onCancel()}>
      <label>
        Comment
        <input autoFocus maxLength={1024} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </label>
      <button type="submit">Confirm acknowledge</button>
      <button type="button" class="secondary" onClick={props.onCancel}>
        Cancel
      </button>
      <Problems error={error} />
    </form>
  );
}
