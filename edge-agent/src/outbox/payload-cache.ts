/** Recent payloads by seq, bounded by bytes (oldest out first), so an online publisher never reads them back from disk. */
export class PayloadCache {
  private readonly map = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(seq: number): Buffer | undefined {
    return this.map.get(seq);
  }

  set(seq: number, payload: Buffer): void {
    if (payload.length > this.maxBytes) return;
    this.map.set(seq, payload);
    this.bytes += payload.length;
    for (const [oldest, buffer] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.bytes -= buffer.length;
    }
  }

  delete(seq: number): void {
    const buffer = this.map.get(seq);
    if (buffer === undefined) return;
    this.map.delete(seq);
    this.bytes -= buffer.length;
  }
}
