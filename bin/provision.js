#!/usr/bin/env node
// The CLI entry: compiled code lives in dist/ (npm run build).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('error: xcp-provision is not built\n  fix: run "npm run build" in the package folder\n')
  process.exit(1)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
