import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  OutpostError,
  PUBLISH_ERROR_CODES,
  TOPIC_ERROR_CODES,
  httpStatusOf,
  isErrorCode,
  isOutpostError,
  isPublishErrorCode,
} from '../src/index.js';

describe('OutpostError', () => {
  it('carries a code, a message, a cause and details', () => {
    const cause = new Error('disk full');
    const error = new OutpostError('INTERNAL', 'could not write', { cause, details: { file: 'x' } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('OutpostError');
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe('could not write');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ file: 'x' });
    expect(isOutpostError(error)).toBe(true);
    expect(isOutpostError(cause)).toBe(false);
  });

  it('has no cause when none is given', () => {
    expect('cause' in new OutpostError('NOT_FOUND', 'no such device')).toBe(false);
  });
});

describe('error codes', () => {
  it('include every PublishError and topic code', () => {
    for (const code of [...PUBLISH_ERROR_CODES, ...TOPIC_ERROR_CODES]) expect(isErrorCode(code)).toBe(true);
    expect(isPublishErrorCode('TYPE_CONFLICT')).toBe(true);
    expect(isPublishErrorCode('NOT_FOUND')).toBe(false);
  });

  it.each([
    ['VALIDATION_FAILED', 400],
    ['UNAUTHENTICATED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['CONFLICT', 409],
    ['RATE_LIMITED', 429],
    ['INTERNAL', 500],
    ['NOT_SUPPORTED', 501],
    ['UNAVAILABLE', 503],
    ['PAYLOAD_TOO_LARGE', 413],
    ['TYPE_CONFLICT', 409],
    // A part's own code is not guessed from its suffix: the server's status is in kernel's ERROR_STATUS.
    ['OTA_ERR_SIGNATURE_INVALID', 500],
    ['DEVICE_NOT_FOUND', 500],
    ['ENROLLMENT_TOKEN_EXPIRED', 500],
    ['SOMETHING_ODD', 500],
  ])('maps %s to HTTP %d', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
    expect(httpStatusOf(new OutpostError(code, 'x'))).toBe(status);
  });

  it('prefers an explicit status', () => {
    expect(httpStatusOf(new OutpostError('OTA_ERR_BUSY', 'x', { status: 423 }))).toBe(423);
  });

  it('gives every code a status and a meaning', () => {
    for (const [code, { status, meaning }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(meaning.length).toBeGreaterThan(0);
    }
  });
});
