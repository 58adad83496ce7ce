import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

// Start-up (docs/design.md): --version and --help load no dependency, and the built CLI
// runs from the bundle with its code cache accepted. Figures are in bench/startup.ts.
const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'startup-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every module URL Node resolves while main(argv) runs from tsc's output (a module.register hook). */
function modulesLoadedBy(argv: string[]): { urls: string[]; stdout: string; status: number | null } {
  const hooks = join(dir, 'hooks.mjs')
  writeFileSync(hooks, `import { writeSync } from 'node:fs'\nexport async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'RESOLVED ' + r.url + '\\n'); return r }\n`)
  const register = join(dir, 'register.mjs')
  writeFileSync(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
  const main = pathToFileURL(join(root, 'dist/src/cli/main.js')).href
  const r = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(register).href, '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(${JSON.stringify(argv)})`],
    { cwd: dir, encoding: 'utf8' },
  )
  const urls = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('RESOLVED '))
    .map((l) => l.slice('RESOLVED '.length))
  return { urls, stdout: r.stdout, status: r.status }
}

describe('start-up', () => {
  it.each([['--version'], ['--help']])('%s loads none of the dependencies (zod, got, xen-api, yaml)', (flag) => {
    const r = modulesLoadedBy([flag])
    expect(r.status).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(0)
    expect(r.urls.some((u) => u.endsWith('/cli/main.js'))).toBe(true)
    expect(r.urls.filter((u) => u.includes('/node_modules/'))).toEqual([])
  })

  it('the built CLI runs from the bundle, and V8 accepts its code cache', () => {
    const bundle = join(root, 'dist/cli/provision.cjs')
    expect(existsSync(bundle), 'npm run build makes dist/cli/provision.cjs').toBe(true)
    const loader = pathToFileURL(join(root, 'bin/bundle-loader.js')).href
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { loadBundle } = await import(${JSON.stringify(loader)}); const b = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(`${bundle}.cache`)}); console.log(typeof b.exports.main, b.script.cachedDataRejected)`,
      ],
      { cwd: dir, encoding: 'utf8' },
    )
    expect(r.stdout.trim(), r.stderr).toBe('function false')
  })
})
