import { Type, type TSchema } from 'typebox';

/**
 * Route schema pieces every part's routes share (STYLE: routes declare params, query, body
 * and response), so an error answer, a timestamp and a page read the same on every route.
 */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'machine-readable error code, e.g. VALIDATION_FAILED' }),
    message: Type.String({ description: 'what went wrong, for people' }),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'Every error answer has this shape.' },
);

/** Error answers a guarded route may give, for the OpenAPI document. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
} as const;

export const EpochMs = Type.Integer({ minimum: 0, description: 'epoch milliseconds' });

export function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
