import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { coverageTable, COVERAGE_END, COVERAGE_START } from '../../mocks/coverage.js'

describe('the coverage table in docs/simulator.md', () => {
  it('matches the handlers (regenerate with npx tsx scripts/coverage.ts --write)', () => {
    const doc = readFileSync(new URL('../../docs/simulator.md', import.meta.url), 'utf8')
    const embedded = doc.slice(doc.indexOf(COVERAGE_START) + COVERAGE_START.length, doc.indexOf(COVERAGE_END)).trim()
    expect(embedded).toBe(coverageTable())
  })
})
