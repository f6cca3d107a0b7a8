import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

export interface VirtualListProps<T> {
  readonly items: readonly T[];
  /** Every row has this height in CSS pixels (rows are laid out absolutely). */
  readonly rowHeight: number;
  /** The scrolling viewport's height in CSS pixels. */
  readonly height: number;
  readonly row: (item: T, index: number) => ComponentChildren;
  readonly keyOf: (item: T) => string;
  /** The rows on screen changed (for live subscriptions of exactly those rows). */
  readonly onVisible?: (items: readonly T[]) => void;
  readonly label: string;
  /** Rows drawn above and below the viewport. */
  readonly overscan?: number;
}

/**
 * A windowed list: only the rows on screen (plus a few) exist in the DOM, so 10,000 devices
 * cost as much to draw as 30. Keyboard: the viewport is focusable and scrolls with the arrows.
 */
export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, rowHeight, height, overscan = 6 } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan);
  const visibleFirst = Math.min(items.length, Math.floor(top / rowHeight));
  const visibleLast = Math.min(items.length, Math.ceil((top + height) / rowHeight));
  const onVisible = props.onVisible;
  const visibleKey = items.slice(visibleFirst, visibleLast).map(props.keyOf).join(',');

  useLayoutEffect(() => {
    // A shorter list (a filter) may leave the viewport scrolled past its end.
    const el = viewport.current;
    if (el !== null && el.scrollTop > Math.max(0, items.length * rowHeight - height)) el.scrollTop = Math.max(0, items.length * rowHeight - height);
  }, [items.length, rowHeight, height]);

  useEffect(() => {
    onVisible?.(items.slice(visibleFirst, visibleLast));
    // The key, not the array: a repaint of the same rows does not resubscribe.
  }, [visibleKey]);

  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    const item = items[i];
    if (item === undefined) continue;
    rows.push(
      <div key={props.keyOf(item)} role="row" aria-rowindex={i + 2} class="vrow" style={{ transform: `translateY(${String(i * rowHeight)}px)`, height: `${String(rowHeight)}px` }}>
        {props.row(item, i)}
      </div>,
    );
  }
  return (
    <div
      ref={viewport}
      class="vlist"
      role="rowgroup"
      aria-label={props.label}
      tabIndex={0}
      style={{ height: `${String(height)}px` }}
      onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div style={{ height: `${String(items.length * rowHeight)}px`, position: 'relative' }}>{rows}</div>
    </div>
  );
}
