import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The server's CSP is `default-src 'self'; script-src 'self'; style-src 'self'`:
// everything must be emitted as same-origin files (no inline script or style).
export default defineConfig({
  plugins: [svelte({ compilerOptions: { css: 'external' } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline assets as data: URLs.
    assetsInlineLimit: 0,
    // No modulepreload polyfill: it would be an extra inline-capable script.
    modulePreload: { polyfill: false },
    target: 'es2022',
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
