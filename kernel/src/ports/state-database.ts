import type { Kysely, Migration } from 'kysely';

/**
 * The one state database every part shares, opened by the platform. Parts narrow it to
 * their own tables with `db.withTables<MyTables>()`, so its table type here is open.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type StateDatabase = Kysely<{}>;

/** A part's schema migrations by name; names sort in order of application (`0001-users`, `0002-…`). */
export type Migrations = Readonly<Record<string, Migration>>;
