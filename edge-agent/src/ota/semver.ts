/**
 * Semantic Versioning 2.0.0 precedence (semver.org §11), for the downgrade and minAgentVersion
 * checks. Build metadata is ignored; a pre-release is lower than its release. Versions reaching
 * here passed protocol's Semver pattern.
 */

interface Parsed {
  readonly core: readonly [number, number, number];
  readonly pre: readonly string[];
}

function parse(version: string): Parsed {
  const [main = '', ...rest] = version.split('+')[0]?.split('-') ?? [];
  const pre = rest.length === 0 ? [] : rest.join('-').split('.');
  const [major = 0, minor = 0, patch = 0] = main.split('.').map((n) => Number(n));
  return { core: [major, minor, patch], pre };
}

function compareIdentifier(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when a < b, 0 when equal in precedence, positive when a > b. */
export function compareSemver(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i += 1) {
    const d = (pa.core[i] ?? 0) - (pb.core[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pa.pre.length === 0 ? (pb.pre.length === 0 ? 0 : 1) : -1;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i += 1) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const d = compareIdentifier(x, y);
    if (d !== 0) return d;
  }
  return 0;
}
