import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, isNumber, isString, page } from '../../src/http/pagination.js';

describe('pagination: one cursor behaviour for every list route', () => {
  it('reads no cursor as the first page', () => {
    expect(decodeCursor(undefined, isString)).toBeUndefined();
  });

  it('gives back the position a cursor was made from', () => {
    expect(decodeCursor(encodeCursor('dev-042'), isString)).toBe('dev-042');
    expect(decodeCursor(encodeCursor(1234), isNumber)).toBe(1234);
  });

  it.each([
    ['damaged bytes', 'not base64 json!', isString],
    ['a position of another list (a number where an id is kept)', encodeCursor(7), isString],
    ['a position of another list (an id where a number is kept)', encodeCursor('dev-1'), isNumber],
    ['JSON null', encodeCursor(null), isString],
  ] as [string, string, (value: unknown) => boolean][])('refuses %s with 400 CURSOR_INVALID, never page 1', (_what, cursor, isPosition) => {
    const check = isPosition as (value: unknown) => value is unknown;
    expect(() => decodeCursor(cursor, check)).toThrow(expect.objectContaining({ code: 'CURSOR_INVALID', status: 400 }));
  });

  it('makes a next cursor only for a full page, from the last item', () => {
    const items = [{ id: 'a' }, { id: 'b' }];
    const full = page(items, 2, (item) => item.id);
    expect(full.items).toEqual(items);
    expect(decodeCursor(full.nextCursor, isString)).toBe('b');
    expect(page(items, 3, (item) => item.id)).toEqual({ items });
  });
});
