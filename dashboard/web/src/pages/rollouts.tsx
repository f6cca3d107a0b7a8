import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { allPages, api } from '../api/client.js';
import { frameCoalescer, openLive } from '../api/live.js';
import type { Artifact, LiveMessage, Page, Rollout, RolloutDetail, RolloutDevice } from '../api/types.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Problems } from '../components/problems.js';
import { VirtualList } from '../components/virtual-list.js';
import { ago, dateTime } from '../format.js';
import { navigate } from '../state/router.js';
import { canOperate } from '../state/session.js';

const FINAL = new Set(['aborted', 'succeeded', 'failed']);

function countsText(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${String(n)} ${s}`)
      .join(', ') || '—'
  );
}

/** Rollouts: the list with live state, and the form that creates one. */
export default function RolloutsPage() {
  const [rollouts, setRollouts] = useState<Rollout[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const artifact = new URLSearchParams(location.search).get('artifact') ?? undefined;
  const load = (): void => {
    api<Page<Rollout>>('GET', '/rollouts?limit=200').then((p) => setRollouts(p.items), setError);
  };
  useEffect(() => {
    load();
    let wait: ReturnType<typeof setTimeout> | undefined;
    const close = openLive({
      topics: ['rollouts'],
      onEvent: (_t, data) => {
        if ((data as LiveMessage<unknown>).deviceId !== undefined) return;
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
  }, []);
  return (
    <section aria-labelledby="ro-title" class="stack">
      <h1 id="ro-title">Rollouts</h1>
      {canOperate.value && <CreateRollout artifactId={artifact} />}
      <Problems error={error} />
      {rollouts === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : rollouts.length === 0 ? (
        <p class="muted">No rollouts yet.</p>
      ) : (
        <div class="panel" style={{ overflowX: 'auto' }}>
          <table class="plain" aria-label="Rollouts">
            <thead>
              <tr>
                <th scope="col">Rollout</th>
                <th scope="col">Artifact</th>
                <th scope="col">State</th>
                <th scope="col">Wave</th>
                <th scope="col">Devices</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rollouts.map((r) => (
                <tr data-rollout={r.id}>
                  <td>
                    <a href={`/rollouts/${encodeURIComponent(r.id)}`}>{r.name}</a>
                  </td>
                  <td>{r.artifactId}</td>
                  <td>
                    {r.state}
                    {r.reason === null ? '' : ` — ${r.reason.message}`}
                  </td>
                  <td>
                    {r.currentWave < 0 ? 'not started' : `${String(r.currentWave + 1)} of ${String(r.waveCount)}`}
                  </td>
                  <td>
                    {r.devices}: {countsText(r.counts)}
                  </td>
                  <td>{ago(r.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function parseWaves(text: string): { percent: number }[] | { count: number }[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.every((p) => p.endsWith('%'))) return parts.map((p) => ({ percent: Number(p.slice(0, -1)) }));
  return parts.map((p) => ({ count: Number(p) }));
}

function CreateRollout({ artifactId }: { artifactId: string | undefined }) {
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [artifact, setArtifact] = useState(artifactId ?? '');
  const [name, setName] = useState('');
  const [group, setGroup] = useState('');
  const [devices, setDevices] = useState('');
  const [waves, setWaves] = useState('10%, 50%, 100%');
  const [maxFailureRatio, setMaxFailureRatio] = useState('0.1');
  const [soak, setSoak] = useState('5m');
  const [startNow, setStartNow] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    api<Page<Artifact>>('GET', '/firmware?limit=500').then(
      (p) => {
        setArtifacts(p.items);
        if (artifact === '' && p.items[0] !== undefined) setArtifact(p.items[0].id);
      },
      () => undefined,
    );
  }, []);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(undefined);
    const ids = devices.split(/[\s,]+/).filter((s) => s !== '');
    const body = {
      ...(name === '' ? {} : { name }),
      artifactId: artifact,
      target: { ...(group === '' ? {} : { group }), ...(ids.length === 0 ? {} : { devices: ids }) },
      waves: parseWaves(waves),
      gate: { maxFailureRatio: Number(maxFailureRatio), ...(soak === '' ? {} : { soak }) },
      startNow,
    };
    try {
      const created = await api<Rollout>('POST', '/rollouts', body);
      navigate(`/rollouts/${encodeURIComponent(created.id)}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="panel stack" onSubmit={(e) => void submit(e)} aria-labelledby="new-rollout">
      <h2 id="new-rollout">New rollout</h2>
      <span class="row">
        <label>
          Artifact
          <select required value={artifact} onChange={(e) => setArtifact(e.currentTarget.value)}>
            {artifacts.map((a) => (
              <option value={a.id}>
                {a.name}@{a.version} ({a.id})
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input value={name} placeholder="optional" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Target group
          <input value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
        </label>
        <label>
          Target devices
          <input value={devices} placeholder="id, id, …" onInput={(e) => setDevices(e.currentTarget.value)} />
        </label>
      </span>
      <span class="row">
        <label>
          Waves (cumulative)
          <input value={waves} onInput={(e) => setWaves(e.currentTarget.value)} />
        </label>
        <label>
          Gate: max failure ratio
          <input type="number" min={0} max={1} step={0.01} value={maxFailureRatio} onInput={(e) => setMaxFailureRatio(e.currentTarget.value)} />
        </label>
        <label>
          Gate: soak
          <input value={soak} onInput={(e) => setSoak(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" checked={startNow} onChange={(e) => setStartNow(e.currentTarget.checked)} /> Start now
        </label>
      </span>
      <Problems error={error} />
      <button type="submit">Create rollout</button>
    </form>
  );
}

/** One rollout: per-wave progress with gate status and reason, per-device state and download percent, live. */
export function RolloutDetailPage({ id }: { id: string }) {
  const [rollout, setRollout] = useState<RolloutDetail | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const devices = useRef(new Map<string, RolloutDevice>()).current;
  const [version, setVersion] = useState(0);
  const paint = useMemo(() => frameCoalescer(() => setVersion((v) => v + 1)), []);
  const path = `/rollouts/${encodeURIComponent(id)}`;
  /** When each device's row last came from the live stream (performance.now()). */
  const liveAt = useRef(new Map<string, number>()).current;
  const reload = (): void => {
    api<RolloutDetail>('GET', path).then(setRollout, setError);
  };
  /**
   * The detail and every device's row as the server has them. Taken again each time the live
   * stream (re)connects: an event sent before the stream was open is in that snapshot, not lost.
   * A row the stream updated after the snapshot was asked for is newer than it and stays.
   */
  const snapshot = (): void => {
    reload();
    const asked = performance.now();
    void allPages<RolloutDevice>(`${path}/devices`, (items) => {
      for (const d of items) if ((liveAt.get(d.deviceId) ?? Number.NEGATIVE_INFINITY) < asked) devices.set(d.deviceId, d);
      paint.request();
    }).catch(setError);
  };
  useEffect(() => {
    devices.clear();
    liveAt.clear();
    snapshot();
    let wait: ReturnType<typeof setTimeout> | undefined;
    const close = openLive({
      topics: ['rollouts'],
      onState: (connected) => {
        if (connected) snapshot();
      },
      onEvent: (_t, data) => {
        const { deviceId, payload } = data as LiveMessage<{ rolloutId: string; wave: number; state: RolloutDevice['state']; percent?: number; bytes?: number; error?: { code: string; message: string } }>;
        if (payload.rolloutId !== id) return;
        if (deviceId !== undefined) {
          const before = devices.get(deviceId);
          devices.set(deviceId, {
            deviceId,
            wave: payload.wave,
            state: payload.state,
            percent: payload.percent ?? (payload.state === before?.state ? before.percent : null),
            bytes: payload.bytes ?? before?.bytes ?? null,
            error: payload.error ?? null,
            attempts: before?.attempts ?? 0,
            jobId: before?.jobId ?? null,
            queuedAt: before?.queuedAt ?? null,
            finishedAt: before?.finishedAt ?? null,
            updatedAt: Date.now(),
          });
          liveAt.set(deviceId, performance.now());
          paint.request();
        }
        // Wave counts and gate status come with the detail: fetched at most every half second.
        wait ??= setTimeout(() => {
          wait = undefined;
          reload();
        }, 500);
      },
    });
    return () => {
      close();
      paint.cancel();
      if (wait !== undefined) clearTimeout(wait);
    };
  }, [id]);
  const rows = useMemo(() => [...devices.values()].sort((a, b) => a.wave - b.wave || a.deviceId.localeCompare(b.deviceId)), [version]);
  if (rollout === undefined) return error === undefined ? <p aria-busy="true">Loading…</p> : <Problems error={error} />;
  const act = async (action: 'pause' | 'resume' | 'abort'): Promise<void> => {
    try {
      await api('POST', `${path}/${action}`);
      reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="rollout-title" class="stack">
      <div class="title-row">
        <a href="/rollouts">Rollouts</a> <span aria-hidden="true">/</span>
        <h1 id="rollout-title">{rollout.name}</h1>
        <span class="badge" data-testid="rollout-state">
          {rollout.state}
        </span>
        {canOperate.value && !FINAL.has(rollout.state) && (
          <span class="row" style={{ marginLeft: 'auto' }}>
            {rollout.state === 'running' && (
              <button type="button" class="secondary" onClick={() => void act('pause')}>
                Pause
              </button>
            )}
            {(rollout.state === 'paused' || rollout.state === 'draft' || rollout.state === 'scheduled') && (
              <button type="button" class="secondary" onClick={() => void act('resume')}>
                {rollout.state === 'paused' ? 'Resume' : 'Start'}
              </button>
            )}
            <ConfirmButton danger label="Abort" question="Abort this rollout for good?" onConfirm={() => act('abort')} />
          </span>
        )}
      </div>
      {rollout.reason !== null && (
        <p class="notice" role="status">
          {rollout.reason.code}: {rollout.reason.message} ({ago(rollout.reason.at)})
        </p>
      )}
      <Problems error={error} />
      <p class="muted">
        Artifact {rollout.artifactId} · {rollout.devices} devices · created {dateTime(rollout.createdAt)} by {rollout.createdBy}
      </p>
      <div class="panel" style={{ overflowX: 'auto' }}>
        <h2>Waves</h2>
        <table class="plain" aria-label="Waves">
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Devices</th>
              <th scope="col">Progress</th>
              <th scope="col">Gate</th>
            </tr>
          </thead>
          <tbody>
            {rollout.wavesProgress.map((w) => (
              <tr data-wave={w.index}>
                <td>{w.index + 1}</td>
                <td>{w.size}</td>
                <td>{countsText(w.counts)}</td>
                <td>
                  <span class={w.gate.status === 'breached' ? 'tag alert' : 'tag'}>{w.gate.status}</span> {w.gate.reason}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="table rollout-devices" role="table" aria-label="Rollout devices" aria-rowcount={rows.length + 1}>
        <div class="vrow head" role="row" aria-rowindex={1}>
          <span role="columnheader">Device</span>
          <span role="columnheader">Wave</span>
          <span role="columnheader">State</span>
          <span role="columnheader">Download</span>
          <span role="columnheader">Error</span>
        </div>
        <VirtualList
          items={rows}
          rowHeight={36}
          height={Math.min(420, Math.max(1, rows.length) * 36)}
          label="Rollout device rows"
          keyOf={(d) => d.deviceId}
          row={(d) => (
            <>
              <span role="cell">
                <a href={`/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>
              </span>
              <span role="cell">{d.wave + 1}</span>
              <span role="cell" data-testid={`ro-state-${d.deviceId}`}>
                {d.state}
              </span>
              <span role="cell" data-testid={`ro-percent-${d.deviceId}`}>
                {d.percent === null ? '—' : <progress max={100} value={d.percent} aria-label={`${d.deviceId} download`} />} {d.percent === null ? '' : `${String(Math.round(d.percent))}%`}
              </span>
              <span role="cell" class={d.error === null ? '' : 'error'}>
                {d.error === null ? '' : `${d.error.code}: ${d.error.message}`}
              </span>
            </>
          )}
        />
      </div>
    </section>
  );
}
