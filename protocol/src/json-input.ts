/**
 * From raw bytes to a parsed JSON value, refusing early and cheaply: the size is checked on
 * the raw input before anything else, then UTF-8, then JSON.parse. Deep nesting needs no
 * guard here: V8's JSON.parse is iterative, and the schemas only descend where a payload
 * nests, so a deeply nested input is refused by the schema check at its first wrong field.
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

/** Parses JSON text; the reason quotes JSON.parse, cut short. */
export function parseJson(text: string): Result<unknown, PublishErrorCode> {
  if (text.trim() === '') return fail('PAYLOAD_INVALID', 'not valid JSON: the payload is empty');
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail('PAYLOAD_INVALID', `not valid JSON: ${message.length > 160 ? `${message.slice(0, 157)}...` : message}`);
  }
}
