#!/usr/bin/env node
// The `outpost-agent` command. Committed (not built) so that npm links it at install time in a
// workspace checkout, before `tsc -b` has made dist/; a packed agent always holds dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('outpost-agent: not built yet — run `npm run build` (or `npm start`) first\n');
  process.exit(1);
}
await import(entry.href);
