#!/usr/bin/env node
// The `outpost` command. Committed (not built) so that npm links it at install time: npm
// skips a bin whose file does not exist yet, and dist/ only appears after `tsc -b`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('outpost: not built yet — run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(entry.href);
