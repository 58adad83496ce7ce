#!/usr/bin/env node
// The CLI entry: compiled code lives in dist/ (npm run build).
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const modules = new URL('../dist/src/cli/main.js', import.meta.url)
const bundle = fileURLToPath(new URL('../dist/cli/provision.cjs', import.meta.url))
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs
const built = mtime(fileURLToPath(modules))
if (built === undefined) {
  process.stderr.write('error: xcp-provision is not built\n  fix: run "npm run build" in the package folder\n')
  process.exit(1)
}
// The bundle (scripts/bundle-cli.mjs) starts several times faster; one older than tsc's
// output was left by a build that stopped after tsc, so the modules it was made from win.
const bundled = mtime(bundle)
// The code cache only when made after this bundle: V8 would take one of another bundle of the same length.
const cached = bundled !== undefined && (mtime(`${bundle}.cache`) ?? -1) >= bundled
const { main } = bundled !== undefined && bundled >= built ? (await import('./bundle-loader.js')).loadBundle(bundle, cached ? `${bundle}.cache` : undefined).exports : await import(modules.href)
process.exitCode = await main(process.argv.slice(2))
