/**
 * The JavaScript budget of issue 14, on the built app: at most 100 KB of gzip JavaScript in
 * all, and at most 40 KB before the first page renders (the entry chunk and what index.html
 * preloads with it; the other pages are chunks loaded on first use).
 */
import { describe, expect, it } from 'vitest';
import { builtApp } from './built-app.js';

const KB = 1024;

describe('the web app bundle budget', () => {
  it('ships at most 100 KB of gzip JavaScript in all', async () => {
    const app = await builtApp();
    const js = app.assets.filter((a) => a.name.endsWith('.js'));
    const total = js.reduce((n, a) => n + a.gzipBytes, 0);
    console.log(`web app JavaScript: ${js.length} chunks, ${(total / KB).toFixed(1)} KB gzip in all; ${js.map((a) => `${a.name} ${(a.gzipBytes / KB).toFixed(1)} KB`).join(', ')}`);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(100 * KB);
  });

  it('needs at most 40 KB of gzip JavaScript before the first page renders', async () => {
    const app = await builtApp();
    const first = [app.entry, ...app.preloaded];
    const sizes = first.map((name) => {
      const asset = app.assets.find((a) => a.name === name);
      if (asset === undefined) throw new Error(`index.html names ${name}, which is not in dist/web/assets`);
      return asset.gzipBytes;
    });
    const total = sizes.reduce((n, s) => n + s, 0);
    console.log(`before the first render: ${first.join(' + ')} = ${(total / KB).toFixed(1)} KB gzip`);
    expect(total).toBeLessThanOrEqual(40 * KB);
    // uPlot (the charts) is not part of it: it comes with the device page.
    const entry = app.assets.find((a) => a.name === app.entry);
    expect(entry?.body.toString('utf8')).not.toContain('uPlot');
  });
});
