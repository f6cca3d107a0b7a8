import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { allPages, api, describeFailure } from '../api/client.js';
import { frameCoalescer, openLive } from '../api/live.js';
import type { Alert, AlertEvent, Device, DeviceStatus, FleetSummary, LiveMessage, Page, TelemetryBatch } from '../api/types.js';
import { VirtualList } from '../components/virtual-list.js';
import { ago, firmwareLabel } from '../format.js';

type SortKey = 'id' | 'online' | 'group' | 'firmware' | 'lastSeen';
type OnlineFilter = '' | 'online' | 'offline' | 'alerting';

interface Filters {
  readonly q: string;
  readonly online: OnlineFilter;
  readonly group: string;
  readonly firmware: string;
}

const ROW_HEIGHT = 36;
const COLUMNS: readonly { key: SortKey; label: string }[] = [
  { key: 'id', label: 'Device' },
  { key: 'online', label: 'State' },
  { key: 'group', label: 'Group' },
  { key: 'firmware', label: 'Firmware' },
  { key: 'lastSeen', label: 'Last seen' },
];

function matches(d: Device, f: Filters, alerting: ReadonlySet<string>): boolean {
  if (f.online === 'online' && !d.online) return false;
  if (f.online === 'offline' && d.online) return false;
  if (f.online === 'alerting' && !alerting.has(d.id)) return false;
  if (f.group !== '' && d.group !== f.group) return false;
  if (f.firmware !== '' && firmwareLabel(d.firmware) !== f.firmware) return false;
  if (f.q === '') return true;
  const q = f.q.toLowerCase();
  return (
    d.id.includes(q) ||
    d.group.toLowerCase().includes(q) ||
    (d.hardware ?? '').toLowerCase().includes(q) ||
    firmwareLabel(d.firmware).toLowerCase().includes(q) ||
    Object.entries(d.tags).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(q))
  );
}

function compare(key: SortKey): (a: Device, b: Device) => number {
  switch (key) {
    case 'online':
      return (a, b) => Number(b.online) - Number(a.online) || a.id.localeCompare(b.id);
    case 'group':
      return (a, b) => a.group.localeCompare(b.group) || a.id.localeCompare(b.id);
    case 'firmware':
      return (a, b) => firmwareLabel(a.firmware).localeCompare(firmwareLabel(b.firmware)) || a.id.localeCompare(b.id);
    case 'lastSeen':
      return (a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0) || a.id.localeCompare(b.id);
    default:
      return (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }
}

function countBy(devices: Iterable<Device>, label: (d: Device) => string): [string, number, number][] {
  const counts = new Map<string, [number, number]>();
  for (const d of devices) {
    const key = label(d);
    const c = counts.get(key) ?? [0, 0];
    c[0]++;
    if (d.online) c[1]++;
    counts.set(key, c);
  }
  return [...counts.entries()].map(([k, [total, online]]): [string, number, number] => [k, total, online]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function useViewportHeight(): number {
  const [h, setH] = useState(() => Math.max(240, window.innerHeight - 330));
  useEffect(() => {
    const onResize = (): void => setH(Math.max(240, window.innerHeight - 330));
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return h;
}

/**
 * The fleet: totals (online, offline, alerting; by firmware and by group) and a windowed table
 * of every device. The list is read through `GET /devices` pages; live updates come from two
 * streams — status and alerts of every device (totals), telemetry of the rows on screen only
 * (last seen) — applied to the data at once and painted at most once per animation frame.
 */
export function FleetPage() {
  const devices = useRef(new Map<string, Device>()).current;
  const alerting = useRef(new Set<string>()).current;
  const [version, setVersion] = useState(0);
  const [loaded, setLoaded] = useState<'loading' | 'done' | string>('loading');
  const [filters, setFilters] = useState<Filters>({ q: '', online: '', group: '', firmware: '' });
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'id', desc: false });
  const [live, setLive] = useState(false);
  const [, setTick] = useState(0);
  const [summary, setSummary] = useState<FleetSummary | null>(null);
  const height = useViewportHeight();
  const paint = useMemo(() => frameCoalescer(() => setVersion((v) => v + 1)), []);

  // The counts (one small answer, so the totals draw with the first rows), the list page by page
  // (the first page is one screen of rows and draws at once), and the firing alerts.
  useEffect(() => {
    const aborted = { aborted: false };
    devices.clear();
    setLoaded('loading');
    performance.clearMarks('fleet:first-rows');
    api<FleetSummary>('GET', '/fleet/summary').then(
      (s) => {
        if (aborted.aborted) return;
        setSummary(s);
        performance.mark('fleet:totals');
      },
      () => undefined,
    );
    let first = true;
    allPages<Device>(
      '/devices',
      (items) => {
        for (const d of items) devices.set(d.id, d);
        paint.request();
        if (first) requestAnimationFrame(() => performance.mark('fleet:first-rows'));
        first = false;
      },
      aborted,
      Math.ceil(height / ROW_HEIGHT) + 8,
    ).then(
      () => {
        if (aborted.aborted) return;
        setLoaded('done');
        performance.mark('fleet:all-rows');
      },
      (err: unknown) => !aborted.aborted && setLoaded(describeFailure(err)),
    );
    api<Page<Alert>>('GET', '/alerts?state=firing&limit=1000').then(
      (page) => {
        for (const a of page.items) alerting.add(a.deviceId);
        paint.request();
      },
      () => undefined,
    );
    const timer = setInterval(() => setTick((t) => t + 1), 5_000);
    return () => {
      aborted.aborted = true;
      clearInterval(timer);
      paint.cancel();
    };
  }, []);

  // Totals: status and alert transitions of every device.
  useEffect(
    () =>
      openLive({
        topics: ['status', 'alerts'],
        onState: setLive,
        onEvent: (topic, data) => {
          const { deviceId, payload } = data as LiveMessage<unknown>;
          if (deviceId === undefined) return;
          const d = devices.get(deviceId);
          if (topic === 'status' && d !== undefined) {
            const s = payload as DeviceStatus;
            devices.set(
              deviceId,
              s.state === 'online'
                ? { ...d, online: true, lastSeen: Math.max(d.lastSeen ?? 0, s.at), agentVersion: s.agentVersion, ...(s.firmware === undefined ? {} : { firmware: s.firmware }) }
                : { ...d, online: false },
            );
          } else if (topic === 'alerts') {
            const a = payload as AlertEvent;
            if (a.state === 'firing') alerting.add(deviceId);
            else alerting.delete(deviceId);
          }
          paint.request();
        },
      }),
    [],
  );

  // Rows on screen: their telemetry moves "last seen". The set is kept outside the component's
  // state (scrolling must not re-render the page); the stream is reopened once scrolling settles.
  const rowStream = useRef<{ key: string; timer?: ReturnType<typeof setTimeout>; close?: () => void }>({ key: '' }).current;
  const onVisible = (items: readonly Device[]): void => {
    const ids = items.map((d) => d.id);
    const key = ids.join(',');
    if (key === rowStream.key) return;
    rowStream.key = key;
    if (rowStream.timer !== undefined) clearTimeout(rowStream.timer);
    rowStream.timer = setTimeout(() => {
      rowStream.close?.();
      rowStream.close =
        ids.length === 0
          ? undefined
          : openLive({
              topics: ['telemetry'],
              devices: ids,
              onEvent: (_topic, data) => {
                const { deviceId, payload } = data as LiveMessage<TelemetryBatch>;
                const d = deviceId === undefined ? undefined : devices.get(deviceId);
                if (d === undefined || deviceId === undefined) return;
                const newest = Math.max(...payload.samples.map((s) => s.ts));
                if (newest > (d.lastSeen ?? 0)) {
                  devices.set(deviceId, { ...d, lastSeen: newest, online: true });
                  paint.request();
                }
              },
            });
    }, 300);
  };
  useEffect(
    () => () => {
      if (rowStream.timer !== undefined) clearTimeout(rowStream.timer);
      rowStream.close?.();
    },
    [],
  );

  const all = useMemo(() => [...devices.values()], [version]);
  const rows = useMemo(() => {
    const list = all.filter((d) => matches(d, filters, alerting));
    list.sort(compare(sort.key));
    if (sort.desc) list.reverse();
    return list;
  }, [all, filters, sort]);
  // Until the whole list is here the totals are the server's summary; then they are counted from
  // the list, which the live stream keeps current.
  const fromList = loaded === 'done' || summary === null;
  const localFirmware = useMemo(() => countBy(all, (d) => firmwareLabel(d.firmware)), [all]);
  const localGroup = useMemo(() => countBy(all, (d) => d.group), [all]);
  const total = fromList ? all.length : summary.total;
  const online = fromList ? all.reduce((n, d) => n + (d.online ? 1 : 0), 0) : summary.online;
  const byFirmware = fromList ? localFirmware : summary.byFirmware.map((f): [string, number, number] => [firmwareLabel(f.firmware), f.total, f.online]);
  const byGroup = fromList ? localGroup : summary.byGroup.map((g): [string, number, number] => [g.name, g.total, g.online]);

  const setFilter = (patch: Partial<Filters>): void => setFilters((f) => ({ ...f, ...patch }));
  const sortBy = (key: SortKey): void => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key === 'lastSeen' }));

  return (
    <section aria-labelledby="fleet-title">
      <div class="title-row">
        <h1 id="fleet-title">Fleet</h1>
        <span class={live ? 'badge ok' : 'badge'} title="live updates">
          {live ? 'live' : 'connecting…'}
        </span>
        {loaded === 'loading' && <span class="muted">loading… {all.length}</span>}
        {loaded !== 'loading' && loaded !== 'done' && (
          <span class="error" role="alert">
            {loaded}
          </span>
        )}
      </div>
      <div class="cards" role="group" aria-label="Totals">
        <button type="button" class="card" data-testid="total" onClick={() => setFilter({ online: '' })}>
          <strong>{total}</strong> devices
        </button>
        <button type="button" class="card ok" data-testid="online" onClick={() => setFilter({ online: 'online' })}>
          <strong>{online}</strong> online
        </button>
        <button type="button" class="card off" data-testid="offline" onClick={() => setFilter({ online: 'offline' })}>
          <strong>{total - online}</strong> offline
        </button>
        <button type="button" class="card alert" data-testid="alerting" onClick={() => setFilter({ online: 'alerting' })}>
          <strong>{[...alerting].filter((id) => devices.has(id)).length}</strong> alerting
        </button>
      </div>
      <div class="breakdowns">
        <Breakdown title="By firmware" rows={byFirmware} selected={filters.firmware} onPick={(firmware) => setFilter({ firmware })} />
        <Breakdown title="By group" rows={byGroup} selected={filters.group} onPick={(group) => setFilter({ group })} />
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" placeholder="id, group, tag, hardware…" value={filters.q} onInput={(e) => setFilter({ q: e.currentTarget.value.trim() })} />
        </label>
        <label>
          State
          <select value={filters.online} onChange={(e) => setFilter({ online: e.currentTarget.value as OnlineFilter })}>
            <option value="">all</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
            <option value="alerting">alerting</option>
          </select>
        </label>
        <label>
          Group
          <select value={filters.group} onChange={(e) => setFilter({ group: e.currentTarget.value })}>
            <option value="">all</option>
            {byGroup.map(([g]) => (
              <option value={g}>{g}</option>
            ))}
          </select>
        </label>
        <label>
          Firmware
          <select value={filters.firmware} onChange={(e) => setFilter({ firmware: e.currentTarget.value })}>
            <option value="">all</option>
            {byFirmware.map(([f]) => (
              <option value={f}>{f}</option>
            ))}
          </select>
        </label>
        <span class="muted" aria-live="polite">
          {rows.length} shown
        </span>
      </form>
      <div class="table" role="table" aria-label="Devices" aria-rowcount={rows.length + 1}>
        <div class="vrow head" role="row" aria-rowindex={1}>
          {COLUMNS.map((c) => (
            <span role="columnheader" class={`c-${c.key}`} aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
              <button type="button" class="link" onClick={() => sortBy(c.key)}>
                {c.label}
                {sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
              </button>
            </span>
          ))}
        </div>
        <VirtualList
          items={rows}
          rowHeight={ROW_HEIGHT}
          height={height}
          label="Device rows"
          keyOf={(d) => d.id}
          onVisible={onVisible}
          row={(d) => (
            <>
              <span role="cell" class="c-id">
                <a href={`/devices/${encodeURIComponent(d.id)}`}>{d.id}</a>
              </span>
              <span role="cell" class="c-online">
                <span class={d.online ? 'dot ok' : 'dot'} aria-hidden="true" />
                {d.online ? 'online' : 'offline'}
                {d.status !== 'active' ? ` · ${d.status}` : ''}
                {alerting.has(d.id) ? <span class="tag alert">alerting</span> : null}
              </span>
              <span role="cell" class="c-group">
                {d.group}
              </span>
              <span role="cell" class="c-firmware">
                {firmwareLabel(d.firmware)}
              </span>
              <span role="cell" class="c-lastSeen" data-testid={`seen-${d.id}`}>
                {ago(d.lastSeen)}
              </span>
            </>
          )}
        />
      </div>
    </section>
  );
}

function Breakdown(props: { title: string; rows: [string, number, number][]; selected: string; onPick: (v: string) => void }) {
  return (
    <div class="breakdown">
      <h2>{props.title}</h2>
      <ul>
        {props.rows.slice(0, 8).map(([name, total, online]) => (
          <li>
            <button type="button" class="chip" aria-pressed={props.selected === name} onClick={() => props.onPick(props.selected === name ? '' : name)}>
              {name} <strong>{total}</strong> <span class="muted">({online} online)</span>
            </button>
          </li>
        ))}
        {props.rows.length > 8 && <li class="muted">+{props.rows.length - 8} more (use the filter)</li>}
      </ul>
    </div>
  );
}
