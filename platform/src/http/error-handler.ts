import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { statusOfError } from '@outpost/kernel';
import { isOutpostError } from '@outpost/protocol';
import { ApiError, type ApiErrorBody } from './api-error.js';

const errorCodes = new WeakMap<FastifyRequest, string>();

/** The coded error a request ended with, for the audit log. */
export function errorCodeOf(request: FastifyRequest): string | undefined {
  return errorCodes.get(request);
}

interface Rendered {
  status: number;
  body: ApiErrorBody;
  headers?: Readonly<Record<string, string>>;
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && 'code' in err;
}

/** Maps anything thrown to `{code, message, details?}` and a fitting status. */
export function renderError(err: unknown): Rendered {
  // Every coded error (protocol's OutpostError, ApiError included) takes its status from
  // kernel's one error table; an explicit status on the error wins.
  if (isOutpostError(err)) {
    const body: ApiErrorBody = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return { status: statusOfError(err), body, ...(err instanceof ApiError ? { headers: err.headers } : {}) };
  }
  if (isFastifyError(err)) {
    if (err.validation !== undefined) {
      const where = err.validationContext ?? 'request';
      const details = err.validation.map((v) => {
        const params = v.params as { additionalProperty?: string; allowedValues?: unknown[]; missingProperty?: string };
        let message = v.message ?? 'is invalid';
        if (v.keyword === 'additionalProperties') message = `must not have the property "${params.additionalProperty}"`;
        if (v.keyword === 'enum' && Array.isArray(params.allowedValues)) message = `must be one of ${params.allowedValues.map((a) => JSON.stringify(a)).join(', ')}`;
        if (v.keyword === 'required') message = `must have the property "${params.missingProperty}"`;
        return { path: `${where}${v.instancePath}`, message };
      });
      const first = details[0];
      const summary = first === undefined ? 'request is invalid' : `${first.path} ${first.message}`;
      return { status: 400, body: { code: 'VALIDATION_FAILED', message: `invalid ${where}: ${summary}`, details } };
    }
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return { status: 400, body: { code: 'BAD_REQUEST', message: `the body is not valid JSON: ${err.message}` } };
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: err.message } };
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message } };
    if (status >= 400 && status < 500) return { status, body: { code: 'BAD_REQUEST', message: err.message } };
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal error; the server log has the details' } };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (err, request, reply) => {
    const rendered = renderError(err);
    if (rendered.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: rendered.body.code, status: rendered.status }, rendered.body.message);
    errorCodes.set(request, rendered.body.code);
    for (const [name, value] of Object.entries(rendered.headers ?? {})) void reply.header(name, value);
    return reply.status(rendered.status).send(rendered.body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    errorCodes.set(request, 'NOT_FOUND');
    const path = request.url.split('?')[0] ?? request.url;
    return reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${path}` });
  });
}
