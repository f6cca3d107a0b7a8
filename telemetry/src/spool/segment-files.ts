import { mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';

const SEGMENT_RE = /^(\d{20})\.seg$/;

/** `00000000000000000001.seg`: a segment is named by the seq of its first record. */
export function segmentFileName(base: number): string {
  return `${String(base).padStart(20, '0')}.seg`;
}

/** The bases of the segment files in `dir`, ascending. */
export async function listSegmentBases(dir: string): Promise<number[]> {
  const bases: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_RE.exec(name);
    if (match?.[1] !== undefined) bases.push(Number(match[1]));
  }
  return bases.sort((a, b) => a - b);
}

/** fsync a directory, so that the names created, renamed or removed in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` (and parents) and makes each new entry durable in its parent. */
export async function ensureDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  const top = path.resolve(created);
  for (let level = path.resolve(dir); ; level = path.dirname(level)) {
    await syncDirectory(path.dirname(level));
    if (level === top || level === path.dirname(level)) break;
  }
}
