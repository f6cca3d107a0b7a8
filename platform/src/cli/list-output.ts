import type { Static, TSchema } from 'typebox';
import { Type } from 'typebox';
import type { QueryValue } from './api-client.js';
import type { CommandContext } from './command.js';
import { formatTable, type Column } from './format-table.js';

/** The page shape of every list route: `{items, nextCursor?}`. */
export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Optional(Type.String()) });
}

export interface ListOptions<T extends TSchema> {
  readonly path: string;
  readonly item: T;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly columns: readonly Column<Static<T>>[];
  /** Plural noun for the empty message, e.g. `users`. */
  readonly noun: string;
}

/**
 * A list command's output: the first page (every page with `--all`), as an
 * aligned table or, with `--json`, the raw answer (`{items, nextCursor?}`).
 */
export async function printList<T extends TSchema>(ctx: CommandContext, options: ListOptions<T>): Promise<void> {
  const api = await ctx.api();
  const schema = pageOf(options.item);
  const all = ctx.boolean('all');
  const items: Static<T>[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let nextCursor: string | undefined;
  do {
    const page = await api.call('GET', options.path, schema, { query: { ...options.query, cursor } });
    items.push(...(page.items as Static<T>[]));
    nextCursor = page.nextCursor;
    // A server that repeats a cursor would loop forever; stop and keep what we have.
    cursor = nextCursor !== undefined && !seen.has(nextCursor) ? nextCursor : undefined;
    if (cursor !== undefined) seen.add(cursor);
  } while (all && cursor !== undefined);

  if (ctx.boolean('json')) {
    ctx.print(JSON.stringify(all || nextCursor === undefined ? { items } : { items, nextCursor }, null, 2));
    return;
  }
  if (items.length === 0) {
    ctx.note(`No ${options.noun}.`);
    return;
  }
  for (const line of formatTable(options.columns, items)) ctx.print(line);
  if (!all && nextCursor !== undefined) ctx.note(`(more ${options.noun} on the server: add --all to list them all)`);
}
