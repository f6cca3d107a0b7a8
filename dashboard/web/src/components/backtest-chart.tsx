import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, describeFailure } from '../api/client.js';
import { axisTick } from '../format.js';
import type { BacktestResult, Series } from '../api/types.js';
import { everyFor } from './live-chart.js';

const HEIGHT = 200;

export interface AlertSpan {
  /** Seconds (uPlot's x unit). */
  readonly from: number;
  /** Seconds; the window's end when the alert had not resolved by then. */
  readonly to: number;
  readonly value: number | null;
}

/** One device's would-have-fired alerts as spans: each firing until its resolve (or the window's end). */
export function spansOf(result: BacktestResult, deviceId: string): AlertSpan[] {
  const spans: AlertSpan[] = [];
  let open: { ts: number; value: number | null } | undefined;
  for (const t of result.transitions) {
    if (t.deviceId !== deviceId) continue;
    if (t.state === 'firing' && open === undefined) open = { ts: t.ts, value: t.value };
    else if (t.state === 'resolved' && open !== undefined) {
      spans.push({ from: open.ts / 1000, to: t.ts / 1000, value: open.value });
      open = undefined;
    }
  }
  if (open !== undefined) spans.push({ from: open.ts / 1000, to: result.to / 1000, value: open.value });
  return spans;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * A backtest drawn on the metric it watches: the device's history over the backtest window
 * (downsampled to the chart's width, mean with the min/max band), each would-have-fired alert a
 * shaded band from firing to resolved with a marker where it fired, and the threshold as a line.
 */
export function BacktestChart(props: { result: BacktestResult; metric: string; deviceId: string; threshold?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [points, setPoints] = useState(0);
  const spans = spansOf(props.result, props.deviceId);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let cancelled = false;
    let plot: uPlot | undefined;
    const { from, to } = props.result;
    const width = Math.max(200, el.clientWidth);
    const every = everyFor(to - from, width);
    const query = (fn: string): Promise<Series> =>
      api<Series>('GET', `/devices/${encodeURIComponent(props.deviceId)}/telemetry?metric=${encodeURIComponent(props.metric)}&from=${String(from)}&to=${String(to)}&every=${every}&fn=${fn}`);
    Promise.all([query('mean'), query('min'), query('max')]).then(
      ([m, lo, hi]) => {
        if (cancelled) return;
        const low = new Map(lo.points.map((p) => [p.ts, p.value]));
        const high = new Map(hi.points.map((p) => [p.ts, p.value]));
        const xs: number[] = [];
        const mean: (number | null)[] = [];
        const min: (number | null)[] = [];
        const max: (number | null)[] = [];
        for (const p of m.points) {
          if (typeof p.value !== 'number') continue;
          const l = low.get(p.ts);
          const h = high.get(p.ts);
          xs.push(p.ts / 1000);
          mean.push(p.value);
          min.push(typeof l === 'number' ? l : p.value);
          max.push(typeof h === 'number' ? h : p.value);
        }
        const line = cssVar('--accent', '#0b5cad');
        const faint = cssVar('--muted', '#888');
        const grid = cssVar('--line', '#ddd');
        const alert = cssVar('--bad', '#b42318');
        const axis = { stroke: faint, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
        const threshold = props.threshold;
        const drawAlerts = (u: uPlot): void => {
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          ctx.save();
          for (const s of spans) {
            const x0 = u.valToPos(s.from, 'x', true);
            const x1 = Math.max(x0 + 2, u.valToPos(s.to, 'x', true));
            ctx.fillStyle = `${alert}33`;
            ctx.fillRect(x0, top, x1 - x0, height);
            ctx.fillStyle = alert;
            ctx.fillRect(x0 - 1, top, 2, height);
            ctx.beginPath();
            ctx.moveTo(x0 - 6, top);
            ctx.lineTo(x0 + 6, top);
            ctx.lineTo(x0, top + 10);
            ctx.closePath();
            ctx.fill();
          }
          if (threshold !== undefined) {
            const y = u.valToPos(threshold, 'y', true);
            if (y >= top && y <= top + height) {
              ctx.strokeStyle = alert;
              ctx.setLineDash([6, 4]);
              ctx.lineWidth = 1;
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
            }
          }
          ctx.restore();
        };
        plot = new uPlot(
          {
            width,
            height: HEIGHT,
            scales: {
              x: { time: true, range: () => [from / 1000, to / 1000] },
              y: threshold === undefined ? {} : { range: (_u, lo2, hi2) => [Math.min(lo2, threshold) - 1, Math.max(hi2, threshold) + 1] },
            },
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
            hooks: { draw: [drawAlerts] },
          },
          [xs, mean, min, max],
          el,
        );
        setPoints(xs.length);
      },
      (err: unknown) => !cancelled && setError(describeFailure(err)),
    );
    return () => {
      cancelled = true;
      plot?.destroy();
    };
  }, [props.result, props.deviceId, props.metric, props.threshold]);

  return (
    <figure class="chart panel" data-testid="backtest-chart" data-device={props.deviceId} data-points={points} data-alerts={spans.length}>
      <figcaption>
        <strong>{props.metric}</strong> on {props.deviceId}: <strong>{spans.length}</strong> would-have-fired {spans.length === 1 ? 'alert' : 'alerts'} shaded
        {props.threshold === undefined ? '' : `, threshold ${String(props.threshold)} dashed`}
      </figcaption>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div ref={box} role="img" aria-label={`backtest of ${props.metric} on ${props.deviceId}: ${String(spans.length)} alerts would have fired`} />
    </figure>
  );
}
