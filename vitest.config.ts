import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The end-to-end tests spawn processes and servers; two cores are what CI has.
    pool: 'forks',
  },
})
