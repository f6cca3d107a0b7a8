/** Paths into JSON values, written for people (`samples[3].metrics["cpu.temp"]`) or read from JSON pointers. */

export type PathSegment = string | number;

const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A JSON-quoted excerpt of a (possibly hostile) string, at most ~60 characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/** `['samples', 3, 'metrics', 'cpu.temp']` → `samples[3].metrics["cpu.temp"]`; long keys are cut short. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (segment.length <= 64 && IDENTIFIER_RE.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${quote(segment)}]`;
  }
  return text;
}

/** `/samples/3/a~1b` (RFC 6901) → `['samples', 3, 'a/b']`. */
export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : segment));
}
