/**
 * The `seq` of a refused telemetry batch, for its PublishError (SPEC "PublishError": the
 * agent correlates the error with the batch it sent). Best effort and bounded: a parse of a
 * payload within the size limit, else a look at its first bytes. Pure; never throws.
 */

const SCAN_BYTES = 4_096;
const SEQ_RE = /"seq"\s*:\s*(\d{1,15})\s*[,}]/;

function validSeq(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export function batchSeqOf(payload: Uint8Array, maxPayloadBytes: number): number | undefined {
  try {
    if (payload.byteLength <= maxPayloadBytes) {
      const parsed: unknown = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return validSeq((parsed as Record<string, unknown>)['seq']);
      return undefined;
    }
  } catch {
    // not JSON: fall through to the scan
  }
  const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, SCAN_BYTES)).toString('utf8');
  const match = SEQ_RE.exec(head);
  return match?.[1] === undefined ? undefined : validSeq(Number(match[1]));
}
