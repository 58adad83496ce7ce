import type { Reporter, TestModule } from 'vitest/node'
import { describeMissing, ORACLES, type OracleName } from './oracle-tools.js'

/**
 * Prints one line after the run when tests were skipped for a missing oracle tool
 * (oracles.ts tags them), naming each tool and the Debian package that brings it.
 */
export default class OracleReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let skipped = 0
    const tools = new Set<OracleName>()
    for (const m of modules) {
      for (const t of m.children.allTests('skipped')) {
        const missing = t.meta().oracles
        if (!missing?.length) continue
        skipped++
        for (const name of missing) if (name in ORACLES) tools.add(name as OracleName)
      }
    }
    if (skipped === 0) return
    process.stdout.write(`\nskipped ${skipped} oracle tests: ${describeMissing(tools)}\n`)
  }
}
