import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The bundle is committed and diffed by CI: names come from content hashes only, nothing
// depends on the clock or the machine.
// @ts-ignore Node's process in the config
const api: string = globalThis.process?.env?.APG_API ?? 'http://127.0.0.1:5055';
const proxy = {
  '/api': { target: api, changeOrigin: false },
  '/ws': { target: api, ws: true },
  '/graphql': { target: api, ws: true },
  '/health': { target: api },
};

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    assetsInlineLimit: 0,
    rollupOptions: {
      // Two pages: the app, and GraphiQL (served at a browser's GET /graphql), whose scripts
      // are chunks of their own and never part of the app's first load.
      input: { index: 'index.html', graphiql: 'graphiql.html' },
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: { proxy },
  preview: { proxy },
});
