import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser app, built into dist/ui and served by src/ui under /ui/. No plugins: esbuild
// compiles the TSX (Preact's automatic JSX runtime), which keeps the build a few seconds.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be an inline script, which the Content-Security-Policy forbids.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
