/** The result shape of every check in this package: a value, or a code and a human reason. */

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export interface Failure<C extends string> {
  readonly ok: false;
  readonly code: C;
  /** One human sentence naming the field at fault, e.g. `samples[3].metrics: 142 metrics, the limit is 100`. */
  readonly reason: string;
  /** The field at fault (`samples[3].metrics`); absent when the whole input is at fault. */
  readonly path?: string;
}

export type Result<T, C extends string> = Ok<T> | Failure<C>;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** Longest reason: a PublishError carries at most 1024 characters. */
export const MAX_REASON_LENGTH = 1024;

export function fail<C extends string>(code: C, reason: string, path?: string): Failure<C> {
  const text = reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 3)}...` : reason;
  return path === undefined || path === '' ? { ok: false, code, reason: text } : { ok: false, code, reason: text, path };
}
