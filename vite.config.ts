// The browser app (web/) built into dist/web, which Purse serves at / (src/web/routes.ts).
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  plugins: [preact()],
  build: {
    outDir: '../dist/web',
    // dist/web also holds the compiled src/web (routes.js): the build script clears dist/web/assets instead.
    emptyOutDir: false,
    // No inline scripts or data: modules: the pages' CSP is script-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
