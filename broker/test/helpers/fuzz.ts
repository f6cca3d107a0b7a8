/** Seeded telemetry-payload fuzzing: mutations of valid batches and plain noise. */

export type Random = () => number;

/** mulberry32: small, fast, seeded; the same seed gives the same cases. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const NAMES = ['temperature', 'cpu.load', '_x', 'time', 'device', '1bad', '', 'a'.repeat(65), 'ünïcode', '__proto__', 'constructor', 'a b', 'ok_name-1'];
const VALUES: readonly unknown[] = [0, -1, 1.5, 1e308, true, false, 'text', 'x'.repeat(300), null, [], {}, '', Number.MAX_SAFE_INTEGER];

function randomValue(random: Random, depth = 0): unknown {
  const roll = random();
  if (depth > 3 || roll < 0.5) return pick(random, VALUES);
  if (roll < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(random, NAMES), randomValue(random, depth + 1)]));
}

function validBatch(random: Random, seq: number, now: number): Record<string, unknown> {
  const samples = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
    ts: now - Math.floor(random() * 60_000),
    metrics: Object.fromEntries(Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => [`m${i}`, Math.round(random() * 1000) / 10])),
  }));
  return { v: 1, seq, samples };
}

/** One fuzz payload; `seq` is carried where the mutation keeps a batch shape. */
export function fuzzPayload(random: Random, seq: number, now: number): Buffer {
  const batch = validBatch(random, seq, now);
  const samples = batch['samples'] as Record<string, unknown>[];
  const sample = samples[0] as Record<string, unknown>;
  switch (Math.floor(random() * 10)) {
    case 0:
      return Buffer.from(JSON.stringify(batch));
    case 1:
      return Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    case 2: {
      const text = JSON.stringify(batch);
      return Buffer.from(text.slice(0, Math.floor(random() * text.length)));
    }
    case 3:
      batch[pick(random, ['v', 'seq', 'samples', 'extra'])] = randomValue(random);
      break;
    case 4:
      sample['metrics'] = { [pick(random, NAMES)]: pick(random, VALUES) };
      break;
    case 5:
      sample['tags'] = { [pick(random, NAMES)]: pick(random, VALUES) };
      break;
    case 6:
      sample['ts'] = pick(random, [0, -5, now + 86_400_000, now - 40 * 86_400_000, 'now', 1.5, null]);
      break;
    case 7:
      batch['samples'] = Array.from({ length: pick(random, [0, 1_001]) }, () => sample);
      break;
    case 8:
      sample['metrics'] = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, i]));
      break;
    default:
      return Buffer.from(`{"v":1,"seq":${seq},"samples":${'['.repeat(Math.floor(random() * 50))}`);
  }
  return Buffer.from(JSON.stringify(batch));
}
