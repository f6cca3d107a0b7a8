/**
 * The state database on each engine the platform supports (issue 15): the embedded SQLite file
 * and a real PostgreSQL. Contract suites run the same assertions on both:
 *
 *   describe.each(STATE_ENGINES)('%s', (name) => {
 *     let engine: StateEngine;
 *     beforeAll(async () => { engine = await startStateEngine(name); });
 *     afterAll(async () => { await engine?.stop(); });
 *     it('…', async () => { const state = await engine.open(); try { … } finally { await state.close(); } });
 *   });
 *
 * One PostgreSQL server per engine (per test file), one fresh database per open().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, openPostgresStateDatabase, openStateDatabase, type StateDatabase } from '@outpost/platform';
import { startPostgres, type PostgresHandle } from '../services/postgres.js';

export type StateEngineName = 'sqlite' | 'postgres';

export const STATE_ENGINES: readonly StateEngineName[] = ['sqlite', 'postgres'];

export interface TestStateDatabase {
  readonly db: StateDatabase;
  /** PostgreSQL: the database's URL (to point a platform at it with OUTPOST_DATABASE_URL). */
  readonly url?: string;
  close(): Promise<void>;
}

export interface StateEngine {
  readonly name: StateEngineName;
  /** The PostgreSQL server (kill()/restart() for fault tests); undefined for SQLite. */
  readonly postgres?: PostgresHandle;
  /** A fresh, empty state database: its own file, or its own PostgreSQL database. */
  open(): Promise<TestStateDatabase>;
  /** A fresh, empty PostgreSQL database's URL without opening it (PostgreSQL only). */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startStateEngine(name: StateEngineName): Promise<StateEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-state-'));
  let count = 0;
  const next = (): string => `t${++count}`;
  if (name === 'sqlite') {
    return {
      name,
      async open() {
        const opened = openStateDatabase(join(dir, next()));
        return { db: opened.db, close: () => opened.close() };
      },
      createDatabase: () => Promise.reject(new Error('createDatabase(): SQLite has no server; use open()')),
      async stop() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const postgres = await startPostgres();
  const log = createLogger({ level: 'silent' });
  return {
    name,
    postgres,
    async open() {
      const url = await postgres.createDatabase(next());
      const opened = openPostgresStateDatabase({ url, poolMax: 5, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000, probeIntervalMs: 1_000, log });
      return { db: opened.db, url, close: () => opened.close() };
    },
    createDatabase: () => postgres.createDatabase(next()),
    async stop() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
