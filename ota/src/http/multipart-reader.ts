/**
 * A streaming reader of `multipart/form-data` (RFC 7578) for the firmware upload: small
 * fields are read into memory up to a bound, the artifact flows through part by part without
 * ever being held whole. The caller reads each part's body to its end before asking for the
 * next part. Malformed input throws OTA_UPLOAD_INVALID.
 */
import { OutpostError } from '@outpost/protocol';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

export interface MultipartPart {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
}

function invalid(message: string): OutpostError {
  return new OutpostError('OTA_UPLOAD_INVALID', `the upload is not valid multipart/form-data: ${message}`);
}

/** The boundary of a `multipart/form-data; boundary=…` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function headerParam(value: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(value) ?? new RegExp(`;\\s*${name}=([^;\\s]+)`, 'i').exec(value);
  return match?.[1]?.replace(/\\(.)/g, '$1');
}

export class MultipartReader {
  readonly #source: AsyncIterator<Buffer | string>;
  /** `--boundary` (the first delimiter has no CRLF before it). */
  readonly #dashBoundary: Buffer;
  /** `\r\n--boundary`: what ends a part's body. */
  readonly #delimiter: Buffer;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  #started = false;
  #finished = false;
  #inBody = false;

  constructor(source: AsyncIterable<Buffer | string>, boundary: string) {
    this.#source = source[Symbol.asyncIterator]();
    this.#dashBoundary = Buffer.from(`--${boundary}`);
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** Pulls one more chunk into the buffer; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#source.next();
    if (next.done === true) {
      this.#ended = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  async #need(bytes: number): Promise<void> {
    while (this.#buffer.length < bytes) {
      if (!(await this.#fill())) throw invalid('the body ends in the middle of a delimiter');
    }
  }

  /** The next part's headers, or undefined after the closing delimiter. */
  async next(): Promise<MultipartPart | undefined> {
    if (this.#inBody) throw new Error('MultipartReader: read the current part to its end first');
    if (this.#finished) return undefined;
    if (!this.#started) {
      // Skip any preamble up to the first `--boundary`.
      for (;;) {
        const at = this.#buffer.indexOf(this.#dashBoundary);
        if (at >= 0) {
          this.#buffer = this.#buffer.subarray(at);
          break;
        }
        if (this.#buffer.length > MAX_HEADER_BYTES) throw invalid('no boundary in the first 16 KiB');
        if (!(await this.#fill())) throw invalid('no boundary found');
      }
      this.#started = true;
    }
    // The buffer starts with `--boundary`: then `--` (the end) or CRLF (a part follows).
    await this.#need(this.#dashBoundary.length + 2);
    const after = this.#buffer.subarray(this.#dashBoundary.length, this.#dashBoundary.length + 2).toString('latin1');
    if (after === '--') {
      this.#finished = true;
      return undefined;
    }
    if (after !== '\r\n') throw invalid('a delimiter is not followed by a line end');
    this.#buffer = this.#buffer.subarray(this.#dashBoundary.length + 2);
    let end = this.#buffer.indexOf(HEADER_END);
    while (end < 0) {
      if (this.#buffer.length > MAX_HEADER_BYTES) throw invalid('part headers longer than 16 KiB');
      if (!(await this.#fill())) throw invalid('the body ends in part headers');
      end = this.#buffer.indexOf(HEADER_END);
    }
    const headerText = this.#buffer.subarray(0, end).toString('utf8');
    this.#buffer = this.#buffer.subarray(end + HEADER_END.length);
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition');
    if (disposition === undefined || !/^form-data\s*(;|$)/i.test(disposition)) throw invalid('a part has no Content-Disposition: form-data');
    const name = headerParam(disposition, 'name');
    if (name === undefined) throw invalid('a part has no name');
    const filename = headerParam(disposition, 'filename');
    const contentType = headers.get('content-type');
    this.#inBody = true;
    return { name, ...(filename === undefined ? {} : { filename }), ...(contentType === undefined ? {} : { contentType }) };
  }

  /** The current part's body, chunk by chunk; ends at the next delimiter. */
  async *body(): AsyncGenerator<Buffer> {
    if (!this.#inBody) throw new Error('MultipartReader: no current part');
    const keep = this.#delimiter.length - 1;
    for (;;) {
      const at = this.#buffer.indexOf(this.#delimiter);
      if (at >= 0) {
        const last = this.#buffer.subarray(0, at);
        // Leave `--boundary…` for next().
        this.#buffer = this.#buffer.subarray(at + CRLF.length);
        this.#inBody = false;
        if (last.length > 0) yield last;
        return;
      }
      if (this.#buffer.length > keep) {
        const out = this.#buffer.subarray(0, this.#buffer.length - keep);
        this.#buffer = this.#buffer.subarray(this.#buffer.length - keep);
        yield out;
      }
      if (!(await this.#fill())) throw invalid('the body ends inside a part (the upload was cut short)');
    }
  }

  /** The current part's body as text, refused beyond `maxBytes`. */
  async text(maxBytes: number, what: string): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.body()) {
      size += chunk.length;
      if (size > maxBytes) throw new OutpostError('OTA_UPLOAD_INVALID', `the ${what} part is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Stops reading the source (e.g. after a refusal). */
  async close(): Promise<void> {
    await this.#source.return?.();
  }
}
