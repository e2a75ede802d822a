import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // End-to-end files start servers and writer processes; two at a time on a 2-core machine.
    maxWorkers: 2,
    pool: 'forks',
    reporters: ['default'],
  },
});
