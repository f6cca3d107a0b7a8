/**
 * The `key=value` arguments of the benches that take them (broker.ts, cluster.ts):
 *
 *   const args = keyValueArgs(process.argv.slice(2), ['devices', 'idle']);
 *   const devices = wholeNumber(args, 'devices', 20);
 *
 * An argument without `=`, or a key not in `known` (when given), is refused with a message that
 * names it, so a typo never runs a bench with a silent default.
 */

/** The arguments as a map; throws on `value` alone, `=value`, or a key not in `known`. */
export function keyValueArgs(argv: readonly string[], known?: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`argument ${arg}: expected key=value`);
    const key = arg.slice(0, eq);
    if (known !== undefined && !known.includes(key)) throw new Error(`unknown argument ${key} (known: ${known.join(', ')})`);
    out[key] = arg.slice(eq + 1);
  }
  return out;
}

/** `args[key]` as a whole number ≥ `min` (default 0), or `fallback` when absent; throws naming the key otherwise. */
export function wholeNumber(args: Readonly<Record<string, string>>, key: string, fallback: number, min = 0): number {
  const value = Number(args[key] ?? fallback);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${key} must be a whole number ≥ ${String(min)}, got ${String(args[key])}`);
  return value;
}
