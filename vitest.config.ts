import { mkdtempSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'
import { pathPastShims } from './test/support/path-past-shims.js'
import { LongestFirst } from './test/support/sequencer.js'

// Workers and the processes they start inherit this PATH (test/support/path-past-shims.ts).
process.env.PATH = pathPastShims(process.env.PATH)
// Every temporary file of the run (the tests' mkdtemp directories, the spools and
// simulator disks of the processes they start) goes to one directory of this run,
// removed when it ends (test/support/run-tmpdir.ts): a run used to leave ~95
// directories (~134 MiB) in /tmp, from certificates to fleet images. Tests that look at
// what a run leaves behind give TMPDIR a directory of their own.
const runTmp = mkdtempSync(join(tmpdir(), 'xcp-provision-tests-'))
process.env.XCP_TEST_RUN_TMPDIR = runTmp
process.env.TMPDIR = runTmp
// The fleet's image hash cache (src/fleet/hash-cache.ts) of every test and of the CLI it
// spawns goes to a directory of this run, never the user's ~/.cache.
process.env.XDG_CACHE_HOME = join(runTmp, 'cache')

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The end-to-end tests spawn processes and servers: forks keep each file's process apart.
    pool: 'forks',
    // One module cache per worker, reused from file to file: each file used to load
    // vitest, zod, xen-api, the simulator and the CLI's modules afresh, 70-110 s of CPU
    // summed over the suite (docs/testing.md "Time"). Helpers therefore keep no per-file
    // state of their own and register their after-test clean-ups through
    // test/support/after-each.ts, which the setup file runs for every file.
    isolate: false,
    globalSetup: ['./test/support/run-tmpdir.ts'],
    setupFiles: ['./test/support/after-each-setup.ts', ...(process.env.XCP_TEST_CPU_LOG ? ['./test/support/cpu-per-file.ts'] : [])],
    // vitest's default is one worker fewer than the cores: a single worker on a 2-core CI
    // runner. Files wait on sockets, child processes and timeouts as well as computing, so
    // one worker more than the cores keeps both busy: 3 workers on this 2-core machine ran
    // test/reliability, test/preflight and test/provision in 97 s against 121 s with 2, for
    // the same CPU (docs/testing.md "Time").
    maxWorkers: Math.max(3, availableParallelism() + 1),
    // Longest files first even without vitest's cache (a CI checkout): see the sequencer.
    sequence: { sequencer: LongestFirst },
    // The default row printing plus one line when tests were skipped for a missing oracle
    // tool (test/support/oracles.ts, docs/testing.md).
    reporters: ['default', './test/support/oracle-reporter.ts'],
  },
})
