// Runs the CLI bundle (dist/cli/provision.cjs, made by scripts/bundle-cli.mjs) with the
// V8 code cache made beside it at build time: without it Node 20 parses and compiles the
// bundle's 2.5 MB on every run (Node 22's module.enableCompileCache() does this for any module).
// Shared by bin/provision.js and the build, which must wrap the source identically for V8
// to accept the cache.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import vm from 'node:vm'

/**
 * Compiles and runs the CommonJS bundle at `file`, with `cachePath`'s code cache when V8
 * accepts it (same V8 version and flags as the build; otherwise it compiles as usual).
 * Returns the bundle's exports and the compiled script, from which the build makes the cache.
 */
export function loadBundle(file, cachePath) {
  // The build checks the bundle is ASCII, where Latin-1 reads the same text without UTF-8 decoding.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`
  let cachedData
  try {
    cachedData = cachePath ? readFileSync(cachePath) : undefined
  } catch {
    cachedData = undefined // no cache: slower, same behaviour
  }
  const script = new vm.Script(source, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // The bundle's import() of node: built-ins goes to Node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
  return { exports: module.exports, script }
}
