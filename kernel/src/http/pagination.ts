import { OutpostError } from '@outpost/protocol';
import { Type, type TSchema } from 'typebox';

/**
 * Pagination, the same on every list route: `?limit=&cursor=` in, `{items, nextCursor?}` out.
 * A route's cursor is the position after its last item, JSON in base64url; the platform signs
 * each `nextCursor` going out and checks each `cursor` coming in (issue 11), so a route sees
 * only cursors it made. One that still does not decode to what the route made answers
 * 400 CURSOR_INVALID — never page 1, never a silent null.
 */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'page size' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
};

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: 'pass as cursor to get the next page' })),
  });
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function cursorInvalid(cause?: unknown): OutpostError {
  return new OutpostError('CURSOR_INVALID', 'the cursor is damaged or was not made for this list: pass nextCursor of the previous page as it was, or leave cursor out to start at the first page', {
    status: 400,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The position a cursor holds (undefined for no cursor), checked with `isPosition`;
 * CURSOR_INVALID when it does not decode or is not a position of this list.
 */
export function decodeCursor<T>(cursor: string | undefined, isPosition: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw cursorInvalid(err);
  }
  if (!isPosition(value)) throw cursorInvalid();
  return value;
}

export const isString = (value: unknown): value is string => typeof value === 'string';
export const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** `{items, nextCursor?}` for a page cut at `limit`, the cursor made from the last item's position. */
export function page<T>(items: readonly T[], limit: number, position: (item: T) => unknown): { items: T[]; nextCursor?: string } {
  const last = items[items.length - 1];
  return items.length === limit && last !== undefined ? { items: [...items], nextCursor: encodeCursor(position(last)) } : { items: [...items] };
}
