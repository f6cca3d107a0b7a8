import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard's single-page app. Built into the package (dist/web), served by the dashboard
 * part at `/`: hashed assets under /assets are immutable; everything runs from the platform's own
 * origin (no CDN), under its page CSP (`script-src 'self'`: no inline scripts).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // The module preload polyfill is an inline-free helper, but modern browsers need none.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    sourcemap: false,
  },
});
