/** Fleet-wide metric types on both state engines (issue 15): first type wins, added once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations, startStateEngine, STATE_ENGINES, type StateEngine, type TestStateDatabase } from '@outpost/e2e';
import { brokerMigrations, sqlMetricTypeStore } from '../../src/adapters/sql-metric-type-store.js';

describe.each(STATE_ENGINES)('metric types on %s', (name) => {
  let engine: StateEngine;
  let state: TestStateDatabase;
  beforeAll(async () => {
    engine = await startStateEngine(name);
    state = await engine.open();
  });
  afterAll(async () => {
    await state?.close();
    await engine?.stop();
  });

  it('migrates once and keeps the first type of each metric', async () => {
    expect(await runMigrations(state.db, 'broker', brokerMigrations)).toEqual(['0001-metric-types']);
    expect(await runMigrations(state.db, 'broker', brokerMigrations)).toEqual([]);
    const store = sqlMetricTypeStore(state.db);
    await store.add([['temp', 'float'], ['door', 'boolean']], 1_765_000_000_000);
    await store.add([['temp', 'string'], ['note', 'string']], 1_765_000_000_001);
    await store.add([], 1_765_000_000_002);
    expect((await store.load()).map(([metric, type]) => `${metric}:${type}`).sort()).toEqual(['door:boolean', 'note:string', 'temp:float']);
  });
});
