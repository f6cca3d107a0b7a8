/**
 * The embedded state database's prepared statements, kept (issue 12). Kysely's SQLite driver
 * prepares every query it runs — begin, each insert, commit — and preparing is about as costly
 * as running a small statement: the alert engine's one transaction per batch spent ~40 % of its
 * time there. This wrapper hands kysely the statement already prepared for the same SQL text.
 *
 * Bounded (least recently used out), since SQL text varies with the number of bound values
 * (`in (?, ?, …)`, multi-row inserts). A statement still being iterated (kysely's `stream()`) is
 * busy and cannot run a second query: the wrapper then prepares a fresh one. SQLite re-prepares
 * a kept statement itself when a migration changed the schema under it.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

export const DEFAULT_STATEMENT_CACHE_SIZE = 256;

export function withStatementCache(sqlite: Database, max = DEFAULT_STATEMENT_CACHE_SIZE): SqliteDatabase & { readonly cached: () => number } {
  const statements = new Map<string, Statement>();
  return {
    prepare(sql: string): Statement {
      const kept = statements.get(sql);
      if (kept !== undefined && !kept.busy) {
        // Most recently used goes last: the first key is the one to drop.
        statements.delete(sql);
        statements.set(sql, kept);
        return kept;
      }
      const statement = sqlite.prepare(sql);
      if (kept === undefined && statements.size >= max) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
      statements.set(sql, statement);
      return statement;
    },
    close(): void {
      statements.clear();
      sqlite.close();
    },
    cached: () => statements.size,
  };
}
