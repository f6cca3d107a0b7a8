/**
 * InfluxQL over `POST /query`, which InfluxDB 1.x, 2.x (v1 compatibility API with a DBRP
 * mapping) and 3.x all answer. Flux is not used: 1.x and 3.x lack it.
 *
 * `/query` sends its 200 status before the statements finish and reports failures per
 * statement inside the body, so the whole body is always read and both the HTTP status and
 * every statement's `error` are checked.
 *
 * Values go in as bound parameters (`$name` in the query, `params` here; InfluxDB ≥ 1.4):
 * strings, numbers and booleans only. Identifiers cannot be bound: quote them with
 * escapeIdentifier().
 */
import http from 'node:http';
import https from 'node:https';

export interface InfluxQLOptions {
  /** Base URL of InfluxDB, e.g. "http://127.0.0.1:8086". */
  readonly url: string;
  /** Default database of the statements (not needed for CREATE DATABASE, SHOW DATABASES). */
  readonly db?: string;
  /** Retention policy for unqualified measurements. */
  readonly rp?: string;
  /** Sent as HTTP Basic credentials when given. */
  readonly username?: string;
  readonly password?: string;
  /** Agent to share sockets with, e.g. an InfluxV1Transport's. */
  readonly agent?: http.Agent;
  /** Timestamps as epoch numbers in this unit instead of RFC 3339 strings. */
  readonly epoch?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h';
  /** Deadline for the whole request, response body included (default 30 s). */
  readonly timeoutMs?: number;
}

export type InfluxQLValue = string | number | boolean | null;

export interface InfluxQLSeries {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: readonly (readonly InfluxQLValue[])[];
}

export interface InfluxQLResult {
  readonly statementId: number;
  readonly series: readonly InfluxQLSeries[];
}

export type InfluxQLErrorCode =
  | 'TELEMETRY_ERR_INFLUXQL_REQUEST'
  | 'TELEMETRY_ERR_INFLUXQL_HTTP'
  | 'TELEMETRY_ERR_INFLUXQL_STATEMENT'
  | 'TELEMETRY_ERR_INFLUXQL_RESPONSE'
  | 'TELEMETRY_ERR_INFLUXQL_LITERAL';

export class InfluxQLError extends Error {
  constructor(
    readonly code: InfluxQLErrorCode,
    message: string,
    readonly details: { readonly status?: number; readonly statementId?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfluxQLError';
  }
}

/**
 * Runs `query` (one or more `;`-separated statements) and returns each statement's series.
 * Throws InfluxQLError when the request fails, the status is not 2xx, the body is not the
 * expected JSON, or any statement reports an error.
 */
export async function queryInfluxQL(
  options: InfluxQLOptions,
  query: string,
  params?: Readonly<Record<string, string | number | boolean>>,
): Promise<InfluxQLResult[]> {
  const form = new URLSearchParams({ q: query });
  if (options.db !== undefined) form.set('db', options.db);
  if (options.rp !== undefined) form.set('rp', options.rp);
  if (options.epoch !== undefined) form.set('epoch', options.epoch);
  if (params !== undefined && Object.keys(params).length > 0) form.set('params', JSON.stringify(params));

  const { status, body } = await post(options, form.toString());
  let parsed: unknown;
  try {
    parsed = body === '' ? undefined : JSON.parse(body);
  } catch (cause) {
    throw new InfluxQLError('TELEMETRY_ERR_INFLUXQL_RESPONSE', `/query answered ${status} with a body that is not JSON: ${clip(body)}`, { status }, { cause });
  }
  const topError = isRecord(parsed) && typeof parsed['error'] === 'string' ? parsed['error'] : undefined;
  if (status < 200 || status >= 300 || topError !== undefined) {
    throw new InfluxQLError('TELEMETRY_ERR_INFLUXQL_HTTP', `/query failed with HTTP ${status}: ${topError ?? clip(body)}`, { status });
  }
  return parseResults(parsed, status);
}

/** Quotes an identifier (database, measurement, tag or field key) for InfluxQL: `"my ""name"`. */
export function escapeIdentifier(name: string): string {
  return `"${escapeQuoted(name, '"')}"`;
}

/** Quotes a string literal for InfluxQL: `'it\'s'`. Prefer bound parameters. */
export function escapeStringLiteral(value: string): string {
  return `'${escapeQuoted(value, "'")}'`;
}

function escapeQuoted(value: string, quote: '"' | "'"): string {
  // InfluxQL's scanner reads a carriage return as a line end and has no escape for it.
  if (value.includes('\r')) {
    throw new InfluxQLError('TELEMETRY_ERR_INFLUXQL_LITERAL', 'InfluxQL cannot quote a carriage return');
  }
  // Its scanner knows exactly the escapes \\ \n \" \' (a raw newline ends the quote).
  let out = '';
  for (const char of value) {
    if (char === '\\') out += '\\\\';
    else if (char === quote) out += `\\${quote}`;
    else if (char === '\n') out += '\\n';
    else out += char;
  }
  return out;
}

function post(options: InfluxQLOptions, form: string): Promise<{ status: number; body: string }> {
  const url = new URL(options.url);
  const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  const transport = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(form, 'utf8');
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': payload.length,
    accept: 'application/json',
  };
  if (options.username !== undefined || options.password !== undefined) {
    const credentials = `${options.username ?? ''}:${options.password ?? ''}`;
    headers.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  const timeoutMs = options.timeoutMs ?? 30_000;

  return new Promise((resolve, reject) => {
    const fail = (cause: unknown): void =>
      reject(
        new InfluxQLError(
          'TELEMETRY_ERR_INFLUXQL_REQUEST',
          `/query request failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          {},
          { cause },
        ),
      );
    const request = transport.request(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: `${base}/query`,
        method: 'POST',
        headers,
        ...(options.agent ? { agent: options.agent } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', fail);
        response.once('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.once('error', fail);
    request.end(payload);
  });
}

function parseResults(parsed: unknown, status: number): InfluxQLResult[] {
  const invalid = (what: string): InfluxQLError =>
    new InfluxQLError('TELEMETRY_ERR_INFLUXQL_RESPONSE', `/query answered with an unexpected body: ${what}`, { status });
  if (!isRecord(parsed) || !Array.isArray(parsed['results'])) throw invalid('no results array');

  return parsed['results'].map((raw: unknown, index): InfluxQLResult => {
    if (!isRecord(raw)) throw invalid(`results[${index}] is not an object`);
    const statementId = typeof raw['statement_id'] === 'number' ? raw['statement_id'] : index;
    if (typeof raw['error'] === 'string') {
      throw new InfluxQLError('TELEMETRY_ERR_INFLUXQL_STATEMENT', `statement ${statementId} failed: ${raw['error']}`, {
        status,
        statementId,
      });
    }
    const rawSeries = raw['series'] ?? [];
    if (!Array.isArray(rawSeries)) throw invalid(`results[${index}].series is not an array`);
    const series = rawSeries.map((entry: unknown, s): InfluxQLSeries => {
      const where = `results[${index}].series[${s}]`;
      if (!isRecord(entry)) throw invalid(`${where} is not an object`);
      const { name, tags, columns, values } = entry;
      if (typeof name !== 'string' && name !== undefined) throw invalid(`${where}.name is not a string`);
      if (!isStringArray(columns)) throw invalid(`${where}.columns is not a string array`);
      if (tags !== undefined && !isStringRecord(tags)) throw invalid(`${where}.tags is not a string map`);
      const rows = values ?? [];
      if (!Array.isArray(rows) || !rows.every(isValueRow)) throw invalid(`${where}.values is not an array of rows`);
      return { name: name ?? '', tags: tags ?? {}, columns, values: rows };
    });
    return { statementId, series };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((item) => typeof item === 'string');
}

function isValueRow(value: unknown): value is InfluxQLValue[] {
  return (
    Array.isArray(value) &&
    value.every(
      (item) => item === null || typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean',
    )
  );
}

function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
