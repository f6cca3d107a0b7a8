/**
 * From raw bytes to a parsed JSON value, refusing early and cheaply: the size is checked on
 * the raw input before anything else, then UTF-8, then the nesting depth (a linear scan), and
 * only then JSON.parse.
 */
import type { PublishErrorCode } from './errors.js';
import type { Result } from './result.js';
import { fail, ok } from './result.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const ENCODER = new TextEncoder();

function tooLarge(size: string, limit: number): Result<never, PublishErrorCode> {
  return fail('PAYLOAD_TOO_LARGE', `payload of ${size} bytes, the limit is ${limit}`);
}

/** The input as text, if its UTF-8 size is within `maxBytes`. */
export function readText(input: Uint8Array | string, maxBytes: number): Result<string, PublishErrorCode> {
  if (typeof input === 'string') {
    // Every UTF-16 code unit takes at least one UTF-8 byte and at most three.
    if (input.length > maxBytes) return tooLarge(`at least ${input.length}`, maxBytes);
    if (input.length * 3 > maxBytes) {
      const size = ENCODER.encode(input).byteLength;
      if (size > maxBytes) return tooLarge(String(size), maxBytes);
    }
    return ok(input);
  }
  if (!(input instanceof Uint8Array)) return fail('PAYLOAD_INVALID', 'payload must be bytes or a string');
  if (input.byteLength > maxBytes) return tooLarge(String(input.byteLength), maxBytes);
  try {
    return ok(UTF8.decode(input));
  } catch {
    return fail('PAYLOAD_INVALID', 'not valid JSON: the bytes are not valid UTF-8');
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of objects and arrays in JSON text (strings skipped), stopping past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

/** Parses JSON text within a nesting limit; the reason quotes JSON.parse, cut short. */
export function parseJson(text: string, maxDepth: number): Result<unknown, PublishErrorCode> {
  if (text.trim() === '') return fail('PAYLOAD_INVALID', 'not valid JSON: the payload is empty');
  if (jsonDepth(text, maxDepth) > maxDepth) {
    return fail('PAYLOAD_INVALID', `not valid JSON: nested deeper than ${maxDepth} levels`);
  }
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail('PAYLOAD_INVALID', `not valid JSON: ${message.length > 160 ? `${message.slice(0, 157)}...` : message}`);
  }
}
