import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share the machine's Redis/PostgreSQL/MariaDB; each run uses its
    // own key prefixes, so files may run in parallel.
    pool: 'forks',
    reporters: ['default'],
  },
});
