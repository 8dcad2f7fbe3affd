/**
 * Vite build of the Bulwark dashboard (a Preact single-page app). `vite build --config web/vite.config.ts`
 * writes `web/dist/`, served by the control plane (`src/controlplane/dashboard.ts`) on the admin listener.
 *
 * The output must run under a strict Content-Security-Policy (`script-src 'self'; style-src 'self'`): no
 * inline scripts or styles in index.html, no eval. Vite's production build emits an external module script
 * and an external stylesheet; the module-preload polyfill is bundled into the entry chunk, not inlined.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No data: URIs for scripts/styles; small images may still be inlined (img-src allows data:).
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('world-atlas')) return 'atlas';
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          return undefined;
        },
      },
    },
  },
});
