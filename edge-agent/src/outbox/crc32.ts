/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF) — the
 * same values as zlib's `crc32`, so segments and journals written by earlier agents stay valid.
 * Our own, table-driven (slicing by 4), because `zlib.crc32` needs Node 20.15 and the agent runs
 * on Node 20.11 (the newest official armv7l build).
 */

function makeTables(): readonly Uint32Array[] {
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  const tables = [first, new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  for (let t = 1; t < 4; t += 1) {
    const previous = tables[t - 1] as Uint32Array;
    const table = tables[t] as Uint32Array;
    for (let n = 0; n < 256; n += 1) {
      const c = previous[n] as number;
      table[n] = ((c >>> 8) ^ (first[c & 0xff] as number)) >>> 0;
    }
  }
  return tables;
}

const [T0, T1, T2, T3] = makeTables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** The CRC-32 of `bytes`; `previous` continues a running CRC (as zlib.crc32's second argument). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  const length = bytes.length;
  const whole = length - (length % 4);
  let i = 0;
  for (; i < whole; i += 4) {
    c ^= (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    c = (T3[c & 0xff] as number) ^ (T2[(c >>> 8) & 0xff] as number) ^ (T1[(c >>> 16) & 0xff] as number) ^ (T0[c >>> 24] as number);
  }
  for (; i < length; i += 1) c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
