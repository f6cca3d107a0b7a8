import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, describeFailure } from '../api/client.js';
import { axisTick } from '../format.js';
import { frameCoalescer } from '../api/live.js';
import type { Series } from '../api/types.js';

/** Where live points of one metric are handed to its chart. */
export type PointSink = (ts: number, value: number) => void;

export interface LiveChartProps {
  readonly deviceId: string;
  readonly metric: string;
  readonly rangeMs: number;
  /** Registers the chart's sink for live points of its metric; answers the unregister. */
  readonly subscribe: (metric: string, sink: PointSink) => () => void;
}

const HEIGHT = 180;

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * `every` for about one point per pixel of the chart: the range over its width, whole seconds,
 * and whole minutes from a minute on — those the embedded store answers from its minute rollup
 * alone (30 days over 1,228 px: 36m, not 2111s).
 */
export function everyFor(rangeMs: number, widthPx: number): string {
  const seconds = Math.max(1, Math.ceil(rangeMs / Math.max(1, widthPx) / 1000));
  return seconds <= 60 ? `${String(seconds)}s` : `${String(Math.ceil(seconds / 60))}m`;
}

/**
 * One metric of one device over a time range: history from the server's downsampled query
 * (mean, with the min/max band), sized to the chart's pixel width, then new points appended
 * from the live stream — repainted at most once per animation frame.
 */
export function LiveChart(props: LiveChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<{ every: string; points: number; lastTs: number | undefined; lastValue: number | undefined }>({ every: '', points: 0, lastTs: undefined, lastValue: undefined });

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let cancelled = false;
    let plot: uPlot | undefined;
    const xs: number[] = [];
    const mean: (number | null)[] = [];
    const min: (number | null)[] = [];
    const max: (number | null)[] = [];
    const paint = frameCoalescer(() => {
      if (plot === undefined) return;
      // Keep the window: drop what fell out of the range on the left.
      const start = (Date.now() - props.rangeMs) / 1000;
      let cut = 0;
      while (cut < xs.length && (xs[cut] ?? 0) < start) cut++;
      if (cut > 0) for (const a of [xs, mean, min, max]) a.splice(0, cut);
      plot.setData([xs, mean, min, max]);
      setInfo((i) => ({ ...i, points: xs.length, lastTs: xs.length === 0 ? undefined : (xs[xs.length - 1] ?? 0) * 1000, lastValue: mean[mean.length - 1] ?? undefined }));
    });
    const pending: [number, number][] = [];
    const sink: PointSink = (ts, value) => {
      if (plot === undefined) {
        pending.push([ts, value]);
        return;
      }
      const x = ts / 1000;
      if (xs.length > 0 && x <= (xs[xs.length - 1] ?? 0)) return;
      xs.push(x);
      mean.push(value);
      min.push(value);
      max.push(value);
      paint.request();
    };
    const unsubscribe = props.subscribe(props.metric, sink);

    const width = Math.max(200, el.clientWidth);
    const to = Date.now();
    const from = to - props.rangeMs;
    const every = everyFor(props.rangeMs, width);
    const query = (fn: string): Promise<Series> =>
      api<Series>('GET', `/devices/${encodeURIComponent(props.deviceId)}/telemetry?metric=${encodeURIComponent(props.metric)}&from=${String(from)}&to=${String(to)}&every=${every}&fn=${fn}`);
    // The mean draws first; the min/max band follows (on a big range each query is a scan).
    query('mean').then(
      (m) => {
        if (cancelled) return;
        for (const p of m.points) {
          if (typeof p.value !== 'number') continue;
          xs.push(p.ts / 1000);
          mean.push(p.value);
          min.push(null);
          max.push(null);
        }
        const line = cssVar('--accent', '#0b5cad');
        const faint = cssVar('--muted', '#888');
        const grid = cssVar('--line', '#ddd');
        const axis = { stroke: faint, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
        plot = new uPlot(
          {
            width,
            height: HEIGHT,
            scales: { x: { time: true, range: () => [(Date.now() - props.rangeMs) / 1000, Date.now() / 1000] } },
            axes: [axis, { ...axis, size: 56, values: (_u: uPlot, splits: number[]) => splits.map(axisTick) }],
            series: [
              {},
              { label: `${props.metric} (mean per ${m.every})`, stroke: line, width: 1.5, spanGaps: false },
              { label: 'min', stroke: faint, width: 0.5, dash: [4, 4] },
              { label: 'max', stroke: faint, width: 0.5, dash: [4, 4] },
            ],
            bands: [{ series: [3, 2], fill: `${line}22` }],
            legend: { live: false },
            cursor: { drag: { x: false, y: false } },
          },
          [xs, mean, min, max],
          el,
        );
        setInfo({ every: m.every, points: xs.length, lastTs: xs.length === 0 ? undefined : (xs[xs.length - 1] ?? 0) * 1000, lastValue: mean[mean.length - 1] ?? undefined });
        for (const [ts, v] of pending.splice(0)) sink(ts, v);
        return Promise.all([query('min'), query('max')]).then(([lo, hi]) => {
          if (cancelled) return;
          const low = new Map(lo.points.map((p) => [p.ts / 1000, p.value]));
          const high = new Map(hi.points.map((p) => [p.ts / 1000, p.value]));
          xs.forEach((x, i) => {
            const l = low.get(x);
            const h = high.get(x);
            // Live points (not in the answers) are their own band.
            min[i] = typeof l === 'number' ? l : (mean[i] ?? null);
            max[i] = typeof h === 'number' ? h : (mean[i] ?? null);
          });
          paint.request();
        }, (err: unknown) => !cancelled && setError(`min/max band: ${describeFailure(err)}`));
      },
      (err: unknown) => !cancelled && setError(describeFailure(err)),
    );
    const resize = new ResizeObserver(() => {
      if (plot !== undefined && el.clientWidth > 0 && Math.abs(plot.width - el.clientWidth) > 4) plot.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    resize.observe(el);
    // The x range slides with the clock even when no point arrives.
    const slide = setInterval(() => paint.request(), 5_000);
    return () => {
      cancelled = true;
      unsubscribe();
      paint.cancel();
      clearInterval(slide);
      resize.disconnect();
      plot?.destroy();
    };
  }, [props.deviceId, props.metric, props.rangeMs]);

  return (
    <figure class="chart panel" data-metric={props.metric} data-points={info.points} data-last-ts={info.lastTs ?? ''} data-last-value={info.lastValue ?? ''}>
      <figcaption>
        <strong>{props.metric}</strong> <span class="muted">{info.every === '' ? '' : `${String(info.points)} points, per ${info.every}`}</span>
      </figcaption>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div ref={box} role="img" aria-label={`chart of ${props.metric}`} />
    </figure>
  );
}
