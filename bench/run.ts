/**
 * `npm run bench`: every benchmark in bench/ (compiled to dist/bench/), one after the
 * other, each in its own process so one's heap and timers cannot skew the next. A
 * benchmark is any module here but this one; it prints its own figures.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const self = basename(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== self)
  .filter((f) => !only.length || only.includes(f.replace(/\.js$/, '')))
  .sort()
let failed = 0
for (const f of benches) {
  process.stdout.write(`\n== bench/${f.replace(/\.js$/, '.ts')}\n`)
  const r = spawnSync(process.execPath, [join(here, f)], { stdio: 'inherit' })
  if (r.status !== 0) {
    failed++
    process.stdout.write(`bench/${f} exited with ${r.status ?? r.signal}\n`)
  }
}
process.exitCode = failed ? 1 : 0
