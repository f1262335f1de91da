// Builds the analyst console (console/src) into dist/console, which `firebreak serve` serves.
// Preact's JSX through esbuild (no Babel); no inline scripts or styles, so the server's strict
// CSP (script-src 'self', style-src 'self') holds.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // An inlined asset would become a data: URL; keep every asset a file of its own.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1200,
    rollupOptions: { output: { manualChunks: { cytoscape: ['cytoscape'], uplot: ['uplot'] } } },
  },
});
