#!/usr/bin/env node
// The CLI entry: compiled code lives in dist/ (npm run build).
import { statSync } from 'node:fs'

const modules = new URL('../dist/src/cli/main.js', import.meta.url)
const bundle = new URL('../dist/cli/main.js', import.meta.url)
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs
const built = mtime(modules)
if (built === undefined) {
  process.stderr.write('error: xcp-provision is not built\n  fix: run "npm run build" in the package folder\n')
  process.exit(1)
}
// The bundle (scripts/bundle-cli.mjs) starts several times faster; one older than tsc's
// output was left by a build that stopped after tsc, so the modules it was made from win.
const bundled = mtime(bundle)
const { main } = await import((bundled !== undefined && bundled >= built ? bundle : modules).href)
process.exitCode = await main(process.argv.slice(2))
