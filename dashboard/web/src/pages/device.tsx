import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, describeFailure } from '../api/client.js';
import { openLive } from '../api/live.js';
import type { Alert, Command, ConfigView, Device, DeviceOtaEntry, Latest, LiveMessage, MetricList, Page, TelemetryBatch } from '../api/types.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { LiveChart, type PointSink } from '../components/live-chart.js';
import { Problems } from '../components/problems.js';
import { ago, bytes, dateTime, firmwareLabel, value } from '../format.js';
import { canOperate } from '../state/session.js';

const RANGES: readonly [string, number][] = [
  ['15 minutes', 15 * 60_000],
  ['1 hour', 3_600_000],
  ['6 hours', 6 * 3_600_000],
  ['24 hours', 86_400_000],
  ['7 days', 7 * 86_400_000],
  ['30 days', 30 * 86_400_000],
];
const MAX_CHARTS = 6;

/** One device: what it is, how it is, its live charts, alerts, config and commands. */
export default function DevicePage({ id }: { id: string }) {
  const [device, setDevice] = useState<Device | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [metrics, setMetrics] = useState<MetricList['metrics']>([]);
  const [latest, setLatest] = useState<Latest['metrics']>({});
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [rangeMs, setRangeMs] = useState(3_600_000);
  const [live, setLive] = useState(false);
  const sinks = useRef(new Map<string, Set<PointSink>>()).current;
  const path = `/devices/${encodeURIComponent(id)}`;

  const reload = (): void => {
    api<Device>('GET', path).then(setDevice, setError);
    api<Alert[] | Page<Alert>>('GET', `/alerts?device=${encodeURIComponent(id)}&limit=50`).then((p) => setAlerts(Array.isArray(p) ? p : p.items), () => undefined);
  };

  useEffect(() => {
    setDevice(undefined);
    setError(undefined);
    reload();
    api<MetricList>('GET', `${path}/metrics`).then((m) => setMetrics(m.metrics), () => setMetrics([]));
    api<Latest>('GET', `${path}/latest`).then((l) => setLatest(l.metrics), () => setLatest({}));
    return openLive({
      topics: ['telemetry', 'status', 'alerts'],
      devices: [id],
      onState: setLive,
      onEvent: (topic, data) => {
        const { payload } = data as LiveMessage<unknown>;
        if (topic === 'telemetry') {
          const batch = payload as TelemetryBatch;
          const newest: Record<string, { ts: number; value: number | boolean | string }> = {};
          for (const sample of batch.samples) {
            for (const [name, v] of Object.entries(sample.metrics)) {
              newest[name] = { ts: sample.ts, value: v };
              if (typeof v === 'number') for (const sink of sinks.get(name) ?? []) sink(sample.ts, v);
            }
          }
          setLatest((l) => ({ ...l, ...newest }));
          setMetrics((m) => {
            const known = new Set(m.map((x) => x.name));
            const added = Object.entries(newest).filter(([n]) => !known.has(n));
            return added.length === 0 ? m : [...m, ...added.map(([name, v]) => ({ name, type: typeof v.value as 'number' | 'boolean' | 'string' }))];
          });
        } else if (topic === 'status') {
          api<Device>('GET', path).then(setDevice, () => undefined);
        } else if (topic === 'alerts') {
          api<Page<Alert>>('GET', `/alerts?device=${encodeURIComponent(id)}&limit=50`).then((p) => setAlerts(p.items), () => undefined);
        }
      },
    });
  }, [id]);

  const subscribe = useMemo(
    () =>
      (metric: string, sink: PointSink): (() => void) => {
        const set = sinks.get(metric) ?? new Set<PointSink>();
        set.add(sink);
        sinks.set(metric, set);
        return () => set.delete(sink);
      },
    [],
  );

  if (error !== undefined) return <Problems error={error} />;
  if (device === undefined) return <p aria-busy="true">Loading {id}…</p>;

  const act = async (action: 'suspend' | 'resume' | 'revoke'): Promise<void> => {
    try {
      setDevice(await api<Device>('POST', `${path}/${action}`));
    } catch (err) {
      setError(err);
    }
  };
  const numeric = metrics.filter((m) => m.type === 'number').slice(0, MAX_CHARTS);
  const current = device.certificates?.find((c) => c.status === 'valid');

  return (
    <section aria-labelledby="device-title">
      <div class="title-row">
        <a href="/">Fleet</a> <span aria-hidden="true">/</span>
        <h1 id="device-title">{device.id}</h1>
        <span class={device.online ? 'badge ok' : 'badge'} data-testid="online">
          {device.online ? 'online' : 'offline'}
        </span>
        <span class="badge">{device.status}</span>
        <span class={live ? 'badge ok' : 'badge'}>{live ? 'live' : 'connecting…'}</span>
        {canOperate.value && (
          <span class="row" style={{ marginLeft: 'auto' }}>
            {device.status === 'active' && <ConfirmButton label="Suspend" question={`Suspend ${device.id}? It cannot connect until resumed.`} onConfirm={() => act('suspend')} />}
            {device.status === 'suspended' && (
              <button type="button" class="secondary" onClick={() => void act('resume')}>
                Resume
              </button>
            )}
            {device.status !== 'revoked' && device.status !== 'decommissioned' && (
              <ConfirmButton danger label="Revoke" question={`Revoke ${device.id} and all its certificates for good?`} onConfirm={() => act('revoke')} />
            )}
          </span>
        )}
      </div>

      <div class="grid2">
        <div class="panel">
          <h2>Device</h2>
          <dl class="meta">
            <dt>Group</dt>
            <dd>{device.group}</dd>
            <dt>Tags</dt>
            <dd>{Object.entries(device.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
            <dt>Hardware</dt>
            <dd>{device.hardware ?? '—'}</dd>
            <dt>Agent</dt>
            <dd>{device.agentVersion ?? '—'}</dd>
            <dt>Firmware</dt>
            <dd>{device.firmware === null ? '—' : `${firmwareLabel(device.firmware)} (slot ${device.firmware.slot})`}</dd>
            <dt>Last seen</dt>
            <dd title={dateTime(device.lastSeen)}>{ago(device.lastSeen)}</dd>
            <dt>Enrolled</dt>
            <dd>{dateTime(device.createdAt)}</dd>
            {Object.entries(device.metadata).map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </>
            ))}
          </dl>
        </div>
        <div class="panel">
          <h2>Certificate</h2>
          <dl class="meta">
            <dt>Expires</dt>
            <dd data-testid="cert-expiry">{device.certificateExpiresAt === undefined || device.certificateExpiresAt === null ? 'no valid certificate' : `${dateTime(device.certificateExpiresAt)} (in ${String(Math.max(0, Math.floor((device.certificateExpiresAt - Date.now()) / 86_400_000)))} days)`}</dd>
            <dt>Serial</dt>
            <dd>{current?.serial ?? '—'}</dd>
            <dt>Fingerprint</dt>
            <dd>
              <code>{current?.fingerprint ?? '—'}</code>
            </dd>
            <dt>All</dt>
            <dd>{(device.certificates ?? []).map((c) => `${c.serial.slice(0, 8)}… ${c.status}`).join(', ') || '—'}</dd>
          </dl>
          <h2 style={{ marginTop: '0.8rem' }}>Outbox</h2>
          {device.outbox === undefined || device.outbox === null ? (
            <p class="muted">No status from the agent yet.</p>
          ) : (
            <dl class="meta">
              <dt>Depth</dt>
              <dd data-testid="outbox-depth">{device.outbox.depth} batches ({bytes(device.outbox.bytes)}{device.outbox.maxBytes === undefined ? '' : ` of ${bytes(device.outbox.maxBytes)}`})</dd>
              <dt>Dropped</dt>
              <dd>
                {device.outbox.dropped} batches{device.outbox.droppedSamples === undefined ? '' : ` (${String(device.outbox.droppedSamples)} samples)`}
              </dd>
              <dt>Refused</dt>
              <dd>{device.outbox.refused}</dd>
              <dt>As of</dt>
              <dd>{ago(device.outbox.at)}</dd>
            </dl>
          )}
        </div>
      </div>

      <div class="title-row">
        <h2>Telemetry</h2>
        <label class="inline">
          Time range{' '}
          <select value={String(rangeMs)} onChange={(e) => setRangeMs(Number(e.currentTarget.value))}>
            {RANGES.map(([label, ms]) => (
              <option value={String(ms)}>{label}</option>
            ))}
          </select>
        </label>
      </div>
      {numeric.length === 0 && <p class="muted">No numeric metrics stored for this device yet.</p>}
      <div class="grid2">
        {numeric.map((m) => (
          <LiveChart key={`${m.name}:${String(rangeMs)}`} deviceId={id} metric={m.name} rangeMs={rangeMs} subscribe={subscribe} />
        ))}
      </div>

      <div class="grid2">
        <div class="panel">
          <h2>Latest values</h2>
          <table class="plain" data-testid="latest">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">Value</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(latest)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, p]) => (
                  <tr data-metric={name}>
                    <td>{name}</td>
                    <td>{value(p.value)}</td>
                    <td title={dateTime(p.ts)}>{ago(p.ts)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        <div class="panel">
          <h2>Alerts</h2>
          {alerts.length === 0 ? (
            <p class="muted">No alerts.</p>
          ) : (
            <table class="plain">
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">State</th>
                  <th scope="col">Value</th>
                  <th scope="col">Fired</th>
                </tr>
              </thead>
              <tbody>
                {alerts.map((a) => (
                  <tr>
                    <td>
                      <span class={`tag sev-${a.severity}`}>{a.severity}</span> {a.ruleId}
                    </td>
                    <td>{a.state}</td>
                    <td>{value(a.value)}</td>
                    <td>{ago(a.firedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="grid2">
        <ConfigPanel path={path} />
        <CommandsPanel path={path} />
      </div>
      <OtaPanel path={path} />
    </section>
  );
}

function ConfigPanel({ path }: { path: string }) {
  const [config, setConfig] = useState<ConfigView | undefined>(undefined);
  const [missing, setMissing] = useState<string | undefined>(undefined);
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);
  const load = (): void => {
    api<ConfigView>('GET', `${path}/config`).then(setConfig, (err: unknown) => setMissing(describeFailure(err)));
  };
  useEffect(load, [path]);
  const desired = config?.config;
  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    setSaved(false);
    let body: unknown;
    try {
      body = JSON.parse(draft ?? '');
    } catch (err) {
      setError(new Error(`not JSON: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    try {
      setConfig(await api<ConfigView>('PUT', `${path}/config`, body));
      setMissing(undefined);
      setDraft(undefined);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="panel stack">
      <h2>Config</h2>
      {config === undefined ? <p class="muted">{missing ?? 'Loading…'}</p> : null}
      {config !== undefined && (
        <div class="grid2">
          <div>
            <h3 class="muted">Desired (version {String(config['version'] ?? '—')})</h3>
            <pre>{JSON.stringify(desired, null, 2)}</pre>
          </div>
          <div>
            <h3 class="muted">Reported</h3>
            <pre>{config.reported === null || config.reported === undefined ? 'nothing reported yet' : JSON.stringify(config.reported, null, 2)}</pre>
          </div>
        </div>
      )}
      {saved && <p role="status">Saved: the device gets it on its config topic.</p>}
      {canOperate.value &&
        (draft === undefined ? (
          <button type="button" class="secondary" onClick={() => setDraft(JSON.stringify(desired ?? { collectors: [{ type: 'system', intervalMs: 10_000 }] }, null, 2))}>
            Edit desired config
          </button>
        ) : (
          <form class="stack" onSubmit={(e) => void save(e)}>
            <label>
              Desired config (JSON)
              <textarea rows={12} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
            </label>
            <Problems error={error} />
            <span class="row">
              <button type="submit">Save config</button>
              <button type="button" class="secondary" onClick={() => setDraft(undefined)}>
                Cancel
              </button>
            </span>
          </form>
        ))}
    </div>
  );
}

function CommandsPanel({ path }: { path: string }) {
  const [commands, setCommands] = useState<Command[]>([]);
  const [name, setName] = useState('');
  const [args, setArgs] = useState('{}');
  const [error, setError] = useState<unknown>(undefined);
  const load = (): void => {
    api<Page<Command>>('GET', `${path}/commands?limit=20`).then((p) => setCommands(p.items), setError);
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 5_000);
    return () => clearInterval(timer);
  }, [path]);
  const send = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    try {
      const parsed = JSON.parse(args) as unknown;
      await api('POST', `${path}/commands`, { name, args: parsed });
      setName('');
      load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="panel stack">
      <h2>Commands</h2>
      {canOperate.value && (
        <form class="row" onSubmit={(e) => void send(e)}>
          <label>
            Command
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="reboot" />
          </label>
          <label>
            Arguments (JSON)
            <input value={args} onInput={(e) => setArgs(e.currentTarget.value)} />
          </label>
          <button type="submit">Send</button>
        </form>
      )}
      <Problems error={error} />
      {commands.length === 0 ? (
        <p class="muted">No commands.</p>
      ) : (
        <table class="plain">
          <thead>
            <tr>
              <th scope="col">Command</th>
              <th scope="col">State</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {commands.map((c) => (
              <tr>
                <td>
                  {c.name} <span class="muted">{JSON.stringify(c.args)}</span>
                </td>
                <td>{c.state}</td>
                <td>{c.result === null || c.result === undefined ? '—' : c.result.ok ? (c.result.output ?? 'ok') : `${c.result.error?.code ?? 'failed'}: ${c.result.error?.message ?? ''}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const OTA_PAGE = 20;

/**
 * The device's OTA history (`GET /devices/{id}/ota`): every rollout it was in, newest first —
 * versions from and to, its state and percent, the failure reason, times. The first page is
 * read again every 5 s (a running update moves); older pages come on demand.
 */
function OtaPanel({ path }: { path: string }) {
  const [head, setHead] = useState<Page<DeviceOtaEntry> | undefined>(undefined);
  const [older, setOlder] = useState<{ items: DeviceOtaEntry[]; nextCursor?: string } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const load = (): void => {
      api<Page<DeviceOtaEntry>>('GET', `${path}/ota?limit=${String(OTA_PAGE)}`).then((p) => {
        setHead(p);
        setError(undefined);
      }, setError);
    };
    load();
    const timer = setInterval(load, 5_000);
    return () => clearInterval(timer);
  }, [path]);
  const cursor = older === undefined ? head?.nextCursor : older.nextCursor;
  const more = async (): Promise<void> => {
    if (cursor === undefined) return;
    try {
      const p = await api<Page<DeviceOtaEntry>>('GET', `${path}/ota?limit=${String(OTA_PAGE)}&cursor=${encodeURIComponent(cursor)}`);
      setOlder((o) => ({ items: [...(o?.items ?? []), ...p.items], ...(p.nextCursor === undefined ? {} : { nextCursor: p.nextCursor }) }));
    } catch (err) {
      setError(err);
    }
  };
  const rows = [...(head?.items ?? []), ...(older?.items ?? [])];
  const version = (a: DeviceOtaEntry['artifact']): string => (a === null ? '—' : `${a.name}@${a.version}`);
  return (
    <div class="panel stack" data-testid="ota-history">
      <h2>OTA history</h2>
      <Problems error={error} />
      {head !== undefined && rows.length === 0 ? (
        <p class="muted">This device was in no rollout yet.</p>
      ) : (
        <table class="plain">
          <thead>
            <tr>
              <th scope="col">Rollout</th>
              <th scope="col">From → to</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-rollout={r.rolloutId} data-state={r.state}>
                <td>
                  <a href={`/rollouts/${encodeURIComponent(r.rolloutId)}`}>{r.rolloutName}</a> <span class="muted">wave {r.wave + 1} · {r.rolloutState}</span>
                </td>
                <td>
                  {version(r.from)} → {version(r.artifact)}
                </td>
                <td>
                  {r.state}
                  {r.percent !== null && r.state !== 'succeeded' ? ` ${String(Math.round(r.percent))} %` : ''}
                  {r.attempts > 1 ? <span class="muted"> · {r.attempts} attempts</span> : null}
                </td>
                <td class={r.error === null ? '' : 'error'}>{r.error === null ? '—' : `${r.error.code}: ${r.error.message}`}</td>
                <td>{dateTime(r.queuedAt ?? r.rolloutCreatedAt)}</td>
                <td>{dateTime(r.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor !== undefined && (
        <button type="button" onClick={() => void more()}>
          Older updates
        </button>
      )}
    </div>
  );
}
