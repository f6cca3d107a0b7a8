import { Type } from 'typebox';

/** Shared route schemas: every route declares params, query, body and response. */
export const ErrorBodySchema = Type.Object(
  {
    code: Type.String({ description: 'machine-readable error code, e.g. VALIDATION_FAILED' }),
    message: Type.String({ description: 'what went wrong, for people' }),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorBody', description: 'Every error answer has this shape.' },
);

export const RoleSchema = Type.Enum(['admin', 'operator', 'viewer'], { description: 'admin > operator > viewer' });

export const EpochMs = Type.Integer({ minimum: 0, description: 'epoch milliseconds' });

export const PageQuerySchema = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'page size' })),
  cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page' })),
};

export function pageOf<T extends ReturnType<typeof Type.Object>>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Optional(Type.String({ description: 'pass as cursor to get the next page' })),
  });
}

/** Error answers every guarded route may give, for the OpenAPI document. */
export const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
  429: ErrorBodySchema,
} as const;

export function encodeCursor(value: string | number): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): unknown {
  if (cursor === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}
