import { Type, type TSchema } from 'typebox';

/**
 * Route schemas shared by the registry's routes, in the platform's style (its http/schemas.ts
 * is not importable at run time: the platform imports this part, not the reverse).
 */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'machine-readable error code, e.g. ENROLL_TOKEN_EXPIRED' }),
    message: Type.String({ description: 'what went wrong, for people' }),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'Every error answer has this shape.' },
);

/** Error answers every guarded route may give, for the OpenAPI document. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
} as const;

export const EpochMs = Type.Integer({ minimum: 0, description: 'epoch milliseconds' });

export function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'page size' })),
  cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page' })),
};

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: 'pass as cursor to get the next page' })),
  });
}

/** Tag and metadata maps: names as metric names, values printable text. */
export const TagMap = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]*$' }), {
  maxProperties: 64,
});
export const MetadataMap = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 1024 }), { maxProperties: 64 });

export const GroupNameSchema = Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', maxLength: 64, description: 'group name' });
export const DeviceIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{2,63}$', maxLength: 64, description: 'device id (certificate CN)' });

/**
 * Command arguments: name → string, number or boolean. The value schema is left open on
 * purpose: with the listeners' `coerceTypes`, a union would turn 5 into "5" (its first branch)
 * and a type list trips ajv's strict mode; the service checks the whole Command with protocol.
 */
export const CommandArgsSchema = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.Unknown({ description: 'a string, number or boolean' }), {
  maxProperties: 64,
});

export function encodeCursor(value: string): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The string a cursor holds, or undefined for none; a damaged cursor reads as none. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `{items, nextCursor?}` for a page cut at `limit`, the cursor made from the last item. */
export function page<T>(items: readonly T[], limit: number, key: (item: T) => string): { items: T[]; nextCursor?: string } {
  const last = items[items.length - 1];
  return items.length === limit && last !== undefined ? { items: [...items], nextCursor: encodeCursor(key(last)) } : { items: [...items] };
}
