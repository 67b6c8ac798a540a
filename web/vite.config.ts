// Builds the console into dist/console/ (served by src/dashboard/assets.ts). Relative
// asset paths, so the page works wherever the dashboard is mounted.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    // No inline scripts or module-preload polyfill: the page runs under script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // Maps are written for reading a browser test's stack traces; the server never serves them.
    sourcemap: 'hidden',
    chunkSizeWarningLimit: 2000,
  },
});
