import { beforeAll, describe, it, type TestFunction } from 'vitest'
import { describeMissing, missingOracles, oraclesRequired, type OracleName } from './oracle-tools.js'

export { findOracle, type OracleName } from './oracle-tools.js'

declare module 'vitest' {
  interface TaskMeta {
    /** The oracle tools this test needed and did not find (it was skipped for them). */
    oracles?: string[]
  }
}

type Describe = (name: string, fn: () => void) => void
type It = (name: string, fn: TestFunction, timeout?: number) => void

/**
 * `describe`/`it` for tests that run an outside tool (oracle-tools.ts). With every tool
 * present they are vitest's own. Without one, the tests are skipped and tagged, and the
 * oracle reporter prints one line for the whole run ("skipped N oracle tests: pygrub
 * missing — apt-get install xen-utils-4.17"). Under CI=true or XCP_REQUIRE_ORACLES=1
 * they run and fail with that line instead: CI never skips an oracle silently.
 *
 *   const pygrub = needs('pygrub')
 *   pygrub.describe('real pygrub against the emulation', () => { ... })
 */
export function needs(...tools: OracleName[]): { describe: Describe; it: It; missing: OracleName[] } {
  const missing = missingOracles(tools)
  if (missing.length === 0) return { describe, it, missing }
  const why = describeMissing(missing)
  if (oraclesRequired()) {
    const fail = (): never => {
      throw new Error(`${why} (CI=true or XCP_REQUIRE_ORACLES=1: oracle tests fail rather than skip; .ci/run installs them)`)
    }
    return {
      describe: (name, fn) =>
        describe(name, () => {
          beforeAll(fail)
          fn()
        }),
      it: (name, fn, timeout) => it(name, (ctx) => (fail(), fn(ctx)), timeout),
      missing,
    }
  }
  const skip = { skip: true, meta: { oracles: missing } }
  return {
    describe: (name, fn) => describe(name, skip, fn),
    it: (name, fn, timeout) => it(name, timeout === undefined ? skip : { ...skip, timeout }, fn),
    missing,
  }
}
