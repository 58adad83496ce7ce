import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The end-to-end tests spawn processes and servers: forks keep each file's process apart.
    pool: 'forks',
    // The default row printing plus one line when tests were skipped for a missing oracle
    // tool (test/support/oracles.ts, docs/testing.md).
    reporters: ['default', './test/support/oracle-reporter.ts'],
  },
})
