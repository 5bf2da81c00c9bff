import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The cluster suite (`npm run test:scale`): a throwaway PostgreSQL, three gateway processes and
// HAProxy on loopback, killed and observed. One file at a time; each file starts its own cluster.
export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('./', import.meta.url)) } },
  test: {
    include: ['server/scale/**/*.scale.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
