// @ts-check
// Mutation testing for the modules where a silently weakened rule is a security hole:
// token verification, break-glass and operators, the policy engine and the access table.
// Run with `npm run mutation`; not part of `npm test` or CI.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/identity/verify-jwt.ts',
    'src/identity/verifier.ts',
    'src/identity/token-shape.ts',
    'src/identity/trusted-issuer.ts',
    'src/identity/workloads.ts',
    'src/identity/profiles/*.ts',
    'src/identity/spiffe-id.ts',
    'src/identity/break-glass.ts',
    'src/identity/failure-limiter.ts',
    'src/identity/operators.ts',
    'src/identity/roles.ts',
    'src/policy/engine.ts',
    'src/policy/condition.ts',
    'src/access/*.ts',
  ],
  // Each mutant runs only the tests that reached it in the dry run.
  coverageAnalysis: 'perTest',
  // The machine has two cores, shared with other work.
  concurrency: 2,
  timeoutMS: 10_000,
  // Only what the unit suites need goes into the sandbox.
  ignorePatterns: ['/test/integration', '/bench', '/deploy', '/dist', '/coverage', '/examples'],
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false },
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 75, break: null },
};
