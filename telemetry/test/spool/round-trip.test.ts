import { isOutpostError } from '@outpost/protocol';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpool } from '../../src/spool/index.js';
import { batchPayload, payloadText, readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

describe('spool round trip', () => {
  it('reads back what was appended, in order, with device id and arrival time', async () => {
    const dir = await kit.tempDir();
    let now = 1_700_000_000_000;
    const spool = await kit.open({ dir }, { clock: { now: () => now++ } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) => spool.append({ deviceId: `dev-${n % 3}`, payload: batchPayload(n) })),
    );
    expect(results.map((result) => result.seq)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));

    const entries = await readEntries(spool, 'ingest', 50);
    expect(entries.map((entry) => entry.seq)).toEqual(results.map((result) => result.seq));
    entries.forEach((entry, n) => {
      expect(entry.deviceId).toBe(`dev-${n % 3}`);
      expect(payloadText(entry)).toBe(batchPayload(n));
      expect(entry.receivedAt).toBe(1_700_000_000_000 + n);
    });
  });

  it('keeps binary payloads and an explicit receivedAt verbatim', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    const payload = Uint8Array.from({ length: 256 }, (_, n) => n);
    await spool.append({ deviceId: 'pi-01', payload, receivedAt: 42 });
    const [entry] = await readEntries(spool, 'alerts', 1);
    expect(entry?.payload.equals(Buffer.from(payload))).toBe(true);
    expect(entry?.receivedAt).toBe(42);
  });

  it('follows live appends after replaying what was already there', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await spool.append({ deviceId: 'pi-01', payload: batchPayload(0) });
    const reading = firstValueFrom(spool.read('ingest').pipe(take(3), toArray()));
    await spool.append({ deviceId: 'pi-01', payload: batchPayload(1) });
    await spool.append({ deviceId: 'pi-01', payload: batchPayload(2) });
    expect((await reading).map(payloadText)).toEqual([0, 1, 2].map((n) => batchPayload(n)));
  });

  it('continues the sequence after a reopen', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir });
    await first.append({ deviceId: 'pi-01', payload: 'a' });
    await first.append({ deviceId: 'pi-01', payload: 'b' });
    await first.close();
    const second = await kit.open({ dir });
    expect(await second.append({ deviceId: 'pi-01', payload: 'c' })).toEqual({ seq: 3 });
    expect((await readEntries(second, 'ingest', 3)).map(payloadText)).toEqual(['a', 'b', 'c']);
  });

  it('completes its readers and refuses appends once closed', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    const reading = firstValueFrom(spool.read('ingest').pipe(toArray()));
    await spool.append({ deviceId: 'pi-01', payload: 'a' });
    await spool.close();
    expect((await reading).map(payloadText)).toEqual(['a']);
    await expect(spool.append({ deviceId: 'pi-01', payload: 'b' })).rejects.toMatchObject({ code: 'SPOOL_CLOSED', status: 503 });
    await expect(firstValueFrom(spool.read('ingest'))).rejects.toMatchObject({ code: 'SPOOL_CLOSED' });
  });

  it('refuses a record it can never hold, permanently (not as a temporary refusal)', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await expect(spool.append({ deviceId: 'd'.repeat(256), payload: '{}' })).rejects.toMatchObject({
      code: 'SPOOL_RECORD_INVALID',
      status: 400,
    });
  });

  it('refuses an unknown consumer with a coded error', async () => {
    const spool = await kit.open({ dir: await kit.tempDir() });
    await expect(firstValueFrom(spool.read('billing'))).rejects.toMatchObject({ code: 'SPOOL_CONSUMER_NOT_FOUND' });
    await expect(spool.commit('billing', 0)).rejects.toMatchObject({ code: 'SPOOL_CONSUMER_NOT_FOUND' });
  });

  it('lists every problem of invalid options at once', async () => {
    const error: unknown = await openSpool({ dir: '', consumers: ['Ingest', 'x', 'x'], maxBytes: 10, groupCommitMs: -1 }).catch(
      (caught: unknown) => caught,
    );
    expect(isOutpostError(error) && error.code).toBe('SPOOL_OPTIONS_INVALID');
    expect(isOutpostError(error) ? error.details : undefined).toHaveLength(5);
  });

  it('refuses a second open of the same directory while the first holds it', async () => {
    const dir = await kit.tempDir();
    const first = await kit.open({ dir });
    await expect(openSpool({ dir, consumers: ['ingest'] })).rejects.toMatchObject({ code: 'SPOOL_LOCKED' });
    await first.close();
    const second = await kit.open({ dir });
    expect(second.stats().lastSeq).toBe(0);
  });
});
