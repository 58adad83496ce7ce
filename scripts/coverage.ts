/**
 * Prints the simulator's coverage table, or with --write puts it into docs/simulator.md
 * between the coverage markers: `npm run coverage` prints it, `npm run coverage -- --write`
 * (or `npx tsx scripts/coverage.ts --write`) updates the page.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { coverageTable, COVERAGE_END, COVERAGE_START } from '../mocks/coverage.js'

const doc = new URL('../docs/simulator.md', import.meta.url)
const table = coverageTable()
if (!process.argv.includes('--write')) {
  process.stdout.write(`${table}\n`)
} else {
  const text = readFileSync(doc, 'utf8')
  const start = text.indexOf(COVERAGE_START)
  const end = text.indexOf(COVERAGE_END)
  if (start < 0 || end < start) throw new Error('docs/simulator.md lacks the coverage markers')
  writeFileSync(doc, `${text.slice(0, start + COVERAGE_START.length)}\n${table}\n${text.slice(end)}`)
}
