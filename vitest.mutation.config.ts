import { defineConfig } from 'vitest/config';

// Stryker's test run: only the unit suites that exercise the security-critical modules it
// mutates. The integration suites need Redis/PostgreSQL/MariaDB and would run once per
// mutant, so they stay out.
export default defineConfig({
  test: {
    include: [
      'test/unit/identity/**/*.test.ts',
      'test/unit/policy/**/*.test.ts',
      'test/unit/access/**/*.test.ts',
      // The README's access table is written from src/access (whoMay).
      'test/unit/readme-access.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
