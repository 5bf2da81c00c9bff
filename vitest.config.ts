import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('./', import.meta.url)) } },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.next/**', 'e2e/**', 'server/faults/**', 'server/scale/**'],
    environment: 'node',
    // Integration tests start real gateways on ephemeral ports; two cores, so keep it modest.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
