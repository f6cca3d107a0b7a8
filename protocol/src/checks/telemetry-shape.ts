/**
 * The TelemetryBatch schema (schemas/telemetry.ts) as one hand-written pass, for the publish
 * hook's hot path. The compiled schema check walks every metrics and tags record with
 * `Object.entries` and every sample with `Object.getOwnPropertyNames`: a quarter of ingest's
 * garbage at 100-sample batches (issue 12, "make validation cheap"). This pass allocates nothing.
 *
 * It is sound, not complete: it accepts only values the schema accepts, and only for values
 * JSON.parse produced (plain objects and arrays, own enumerable keys only, numbers possibly
 * ±Infinity from huge literals). Whatever it does not accept, the compiled schema decides and
 * words the refusal — so refusals read exactly as before. The test compares both on valid and
 * broken batches.
 */
import { MAX_EPOCH_MS, PRINTABLE_PATTERN } from '../schemas/common.js';
import type { TelemetryBatch } from '../schemas/telemetry.js';

const PRINTABLE = new RegExp(PRINTABLE_PATTERN);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function isSample(sample: unknown): boolean {
  if (!isRecord(sample)) return false;
  let required = 0;
  for (const key in sample) {
    if (key === 'ts' || key === 'metrics') required += 1;
    else if (key !== 'tags') return false;
  }
  if (required !== 2 || !isWhole(sample['ts'], MAX_EPOCH_MS)) return false;
  const metrics = sample['metrics'];
  if (!isRecord(metrics)) return false;
  let count = 0;
  for (const name in metrics) {
    const value = metrics[name];
    if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'boolean' && typeof value !== 'string') return false;
    count += 1;
  }
  if (count === 0) return false;
  const tags = sample['tags'];
  if (tags === undefined) return true;
  if (!isRecord(tags)) return false;
  for (const name in tags) {
    const value = tags[name];
    if (typeof value !== 'string' || value.length === 0 || !PRINTABLE.test(value)) return false;
  }
  return true;
}

/** True only when `value` (JSON.parse's output) is a schema-valid TelemetryBatch; false = ask the compiled schema. */
export function isTelemetryBatchJson(value: unknown): value is TelemetryBatch {
  if (!isRecord(value)) return false;
  let keys = 0;
  for (const key in value) {
    if (key !== 'v' && key !== 'seq' && key !== 'samples') return false;
    keys += 1;
  }
  if (keys !== 3 || value['v'] !== 1 || !isWhole(value['seq'], Number.MAX_SAFE_INTEGER)) return false;
  const samples = value['samples'];
  if (!Array.isArray(samples) || samples.length === 0) return false;
  for (const sample of samples) if (!isSample(sample)) return false;
  return true;
}
