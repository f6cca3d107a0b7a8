/**
 * Decode once (issue 12, item 2): the spool's records as typed batches. The broker's hook
 * handing its decoded batch to both consumers is tested in broker/test/ingest/decode-once.test.ts.
 */
import type { TelemetryBatch } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { TelemetryRecords } from '../../src/ingest/index.js';
import type { SpoolEntry } from '../../src/spool/index.js';

describe('TelemetryRecords', () => {
  const NOW = 1_700_000_000_000;

  it('forgets the oldest remembered batches beyond its memory bound (a consumer far behind parses them instead)', () => {
    const records = new TelemetryRecords({ consumers: 2, maxBytes: 100 });
    const batch = (seq: number): TelemetryBatch => ({ v: 1, seq, samples: [{ ts: NOW, metrics: { t: seq } }] });
    for (let seq = 1; seq <= 5; seq += 1) records.remember(seq, batch(seq), 40);
    expect(records.stats().rememberedBytes).toBe(80);
    const entry = (seq: number): SpoolEntry => ({ seq, deviceId: 'dev-1', receivedAt: NOW, payload: Buffer.from(JSON.stringify(batch(seq))) });
    const read = records.recordsOf([entry(3), entry(4), entry(5)]);
    expect(read.records.map((r) => r.batch.seq)).toEqual([3, 4, 5]);
    expect(records.stats()).toMatchObject({ shared: 2, parsed: 1 });
  });

  it('reports an entry that is not a telemetry batch instead of throwing', () => {
    const records = new TelemetryRecords({ consumers: 1 });
    const read = records.recordsOf([
      { seq: 1, deviceId: 'dev-1', receivedAt: NOW, payload: Buffer.from('{oops') },
      { seq: 2, deviceId: 'dev-1', receivedAt: NOW, payload: Buffer.from('{"v":1}') },
    ]);
    expect(read.records).toEqual([]);
    expect(read.unreadable.map((u) => [u.seq, u.reason.split(':')[0]])).toEqual([[1, 'not JSON'], [2, 'not a TelemetryBatch (no samples array)']]);
  });
});
