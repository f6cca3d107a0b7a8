import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CollectorLog } from '../../src/collectors/index.js';

/** Temp directories (fake /proc and /sys trees, scripts), removed after each test. */
export class FakeHost {
  private readonly dirs: string[] = [];

  async dir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'outpost-collect-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Writes `files` (relative path → content) under a new root; returns the root. */
  async tree(files: Readonly<Record<string, string>>): Promise<string> {
    const root = await this.dir();
    await writeTree(root, files);
    return root;
  }

  /** An executable script with `body` (after a `#!/bin/sh` line). */
  async script(body: string): Promise<string> {
    const file = path.join(await this.dir(), 'probe.sh');
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export async function writeTree(root: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

export function memoryLog(): CollectorLog & { readonly lines: { level: string; object: object; message: string }[] } {
  const lines: { level: string; object: object; message: string }[] = [];
  return {
    lines,
    warn: (object, message) => lines.push({ level: 'warn', object, message }),
    error: (object, message) => lines.push({ level: 'error', object, message }),
  };
}
