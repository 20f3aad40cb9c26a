import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

type Bundle = Parameters<Extract<NonNullable<Plugin['generateBundle']>, (...args: never[]) => unknown>>[1];

/**
 * Build-time size budget. The initial JavaScript — the entry chunk and everything it imports
 * statically, i.e. what must arrive before the app runs — is measured gzipped and reported on one
 * line with the CSS; the build fails when it is over budget. Lazy chunks (highlight.js and its
 * languages, loaded by dynamic import) are reported apart and do not count. 1 KB = 1000 bytes.
 */
function bundleBudget({ initialJsKb }: { initialJsKb: number }): Plugin {
  const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} KB`;
  return {
    name: 'confab:bundle-budget',
    apply: 'build', // `vite build` only: not the dev server, not Vitest
    enforce: 'post',
    generateBundle(_options, bundle: Bundle) {
      const js = new Set<string>();
      const css = new Set<string>();
      const visit = (fileName: string): void => {
        const chunk = bundle[fileName];
        if (chunk?.type !== 'chunk' || js.has(fileName)) return;
        js.add(fileName);
        const meta = (chunk as { viteMetadata?: { importedCss?: Set<string> } }).viteMetadata;
        for (const file of meta?.importedCss ?? []) css.add(file);
        for (const imported of chunk.imports) visit(imported); // static imports only
      };
      // The app's entry only: the API reference (`docs.html`, its own page at /api/docs) is
      // reported with the lazy chunks.
      for (const item of Object.values(bundle)) if (item.type === 'chunk' && item.isEntry && item.name !== 'docs') visit(item.fileName);

      const gz = (file: string): number => {
        const item = bundle[file];
        return item ? gzipSync(item.type === 'chunk' ? item.code : item.source, { level: 9 }).length : 0;
      };
      const sum = (files: Iterable<string>): number => [...files].reduce((total, f) => total + gz(f), 0);
      const lazy = Object.values(bundle).filter((i) => i.type === 'chunk' && !js.has(i.fileName)).map((i) => i.fileName);
      const jsBytes = sum(js);
      console.log(
        `\ninitial JS: ${kb(jsBytes)} gzipped (budget ${initialJsKb} KB), CSS: ${kb(sum(css))} gzipped` +
          ` (lazy JS: ${kb(sum(lazy))} gzipped in ${lazy.length} chunks)`,
      );
      if (jsBytes > initialJsKb * 1000) {
        this.error(
          `initial JavaScript is ${kb(jsBytes)} gzipped, over the ${initialJsKb} KB budget (${[...js].join(', ')}): ` +
            'load the new dependency lazily (dynamic import) or make it smaller.',
        );
      }
    },
  };
}

// The server's CSP is `default-src 'self'; script-src 'self'; style-src 'self'`:
// everything must be emitted as same-origin files (no inline script or style).
export default defineConfig({
  plugins: [
    svelte({ compilerOptions: { css: 'external' } }),
    // The budget: initial JavaScript ≤ 150 KB gzipped.
    bundleBudget({ initialJsKb: 150 }),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline assets as data: URLs.
    assetsInlineLimit: 0,
    // No modulepreload polyfill: it would be an extra inline-capable script.
    modulePreload: { polyfill: false },
    target: 'es2022',
    // Two pages: the app, and the interactive API reference served at /api/docs.
    rollupOptions: { input: { main: 'index.html', docs: 'docs.html' } },
    // Swagger UI is one large chunk, loaded by the API reference page only.
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
