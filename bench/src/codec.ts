/**
 * Telemetry decode cost in the broker's publish hook: bytes → validated
 * TelemetryBatch (size check, JSON parse, schema, names, reserved names, ts window),
 * side by side with a bare JSON.parse of the same bytes, for small and limit-sized batches.
 *
 *   npm run build && node bench/dist/src/codec.js [seconds=2]
 */
import { decodePayload, resolveLimits } from '@outpost/protocol';

const seconds = Number(process.argv[2] ?? 2);
const now = Date.now();
// The largest case exceeds the default 256 KiB payload limit on purpose: measure the checks, not the refusal.
const limits = resolveLimits({ maxPayloadBytes: 4_000_000 });

function batch(samples: number, metrics: number): Uint8Array {
  const list = Array.from({ length: samples }, (_, i) => ({
    ts: now - (samples - i) * 1000,
    metrics: Object.fromEntries(Array.from({ length: metrics }, (_, m) => [`metric_${m}`, m % 7 === 0 ? `state-${i}` : i * 0.5 + m])),
    tags: { site: 'north', rack: `r${i % 4}` },
  }));
  return new TextEncoder().encode(JSON.stringify({ v: 1, seq: 42, samples: list }));
}

function rate(run: () => void): number {
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10; i++) run();
    n += 10;
  }
  return n / seconds;
}

const cases: [string, number, number][] = [
  ['10 samples x 5 metrics', 10, 5],
  ['100 samples x 10 metrics', 100, 10],
  ['1000 samples x 20 metrics', 1000, 20],
];

console.log(`TelemetryBatch decode, ${seconds} s per row, node ${process.version}`);
console.log(`${'batch'.padEnd(28)} ${'bytes'.padStart(9)} ${'decode/s'.padStart(10)} ${'samples/s'.padStart(12)} ${'JSON.parse/s'.padStart(13)}`);
for (const [name, samples, metrics] of cases) {
  const bytes = batch(samples, metrics);
  const check = decodePayload('TelemetryBatch', bytes, { now, limits });
  if (!check.ok) throw new Error(`bench input refused: ${check.reason}`);
  const decoder = new TextDecoder();
  const decodes = rate(() => {
    decodePayload('TelemetryBatch', bytes, { now, limits });
  });
  const parses = rate(() => {
    JSON.parse(decoder.decode(bytes));
  });
  console.log(`${name.padEnd(28)} ${String(bytes.length).padStart(9)} ${decodes.toFixed(0).padStart(10)} ${(decodes * samples).toFixed(0).padStart(12)} ${parses.toFixed(0).padStart(13)}`);
}
