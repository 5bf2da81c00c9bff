import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The fault and abuse suite of ../shared/RELIABILITY.md: one file per scenario, named after its
// number (server/faults/sNN-*.faults.test.ts), against real gateways on loopback, bounded in count
// and time. `npm run test:faults`; part of `npm test`.
export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('./', import.meta.url)) } },
  test: {
    include: ['server/faults/**/*.faults.test.ts'],
    environment: 'node',
    // Scenarios start gateways, viewer swarms and child processes: one file at a time on two cores.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
