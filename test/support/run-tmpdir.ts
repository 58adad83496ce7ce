import { rmSync } from 'node:fs'

/**
 * vitest's global setup: at the end of the run, removes the run's temporary directory
 * (vitest.config.ts points TMPDIR at it), whatever the tests and the processes they
 * started left there. Nothing else is removed: only the directory this run made.
 */
export default function setup(): () => void {
  return () => {
    const dir = process.env.XCP_TEST_RUN_TMPDIR
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
}
