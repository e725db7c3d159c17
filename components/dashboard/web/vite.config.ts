// Vite 7 build of the dashboard: Preact JSX through esbuild (no framework
// plugin), content-hashed assets under dist/assets, nothing inline, so the page
// runs under the Content-Security-Policy the dashboard component serves.
import { defineConfig } from 'vite';

/** The policy the dashboard component sends; `vite preview` sends it too, so local runs catch violations. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Where `vite` and `vite preview` forward /api (the app on the local host). */
const api = process.env.OPSFLOW_API ?? 'http://127.0.0.1:3100';
const proxy = { '/api': { target: api, changeOrigin: false } };

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': CSP } },
});
