/** A sampled point of the log: the record `seq` starts at `offset` of segment `base`. */
export interface IndexPoint {
  readonly seq: number;
  readonly base: number;
  readonly offset: number;
  /** Its receivedAt; undefined when the segment's first header could not be read. */
  readonly at: number | undefined;
}

/**
 * A sparse, in-memory index of the retained log, for the metrics only (lag in bytes, age of the
 * oldest unconsumed record): one point at the start of each segment, then one whenever a second
 * or a MiB has passed since the previous point. A lookup answers the nearest point at or before a
 * seq, so a depth in bytes is over by at most a MiB and an age by at most a second (older
 * segments written before the last open: by up to one segment, until read).
 */
export class PositionIndex {
  private readonly points: IndexPoint[] = [];

  constructor(
    private readonly everyMs = 1000,
    private readonly everyBytes = 1024 * 1024,
  ) {}

  /** Offers the record `seq` (in increasing seq order); keeps it when it is due. */
  offer(point: IndexPoint): void {
    const last = this.points[this.points.length - 1];
    if (last && point.seq <= last.seq) return;
    const due =
      !last ||
      last.base !== point.base ||
      point.offset - last.offset >= this.everyBytes ||
      (point.at !== undefined && (last.at === undefined || point.at - last.at >= this.everyMs));
    if (due) this.points.push(point);
  }

  /** The nearest point at or before `seq`, else the first point. */
  lookup(seq: number): IndexPoint | undefined {
    let low = 0;
    let high = this.points.length - 1;
    let found: IndexPoint | undefined = this.points[0];
    while (low <= high) {
      const middle = (low + high) >> 1;
      const point = this.points[middle];
      if (point === undefined) break;
      if (point.seq <= seq) {
        found = point;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Forgets the points of segments below `base` (deleted). */
  dropBefore(base: number): void {
    const keep = this.points.findIndex((point) => point.base >= base);
    this.points.splice(0, keep < 0 ? this.points.length : keep);
  }

  get size(): number {
    return this.points.length;
  }
}
