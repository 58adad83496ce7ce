import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// What `npm publish` would ship (npm pack --dry-run, after npm run build): what a user
// needs, the docs its messages send them to, and not the benchmarks or source maps whose
// sources (src/*.ts) are not in the package.
const root = fileURLToPath(new URL('../..', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

describe('the published package', () => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
    files: { path: string }[]
  }[]
  const files = new Set(packed[0]!.files.map((f) => f.path))

  it('holds the CLI, the library, its recipes and schemas, the LICENSE and README', () => {
    for (const f of [
      'LICENSE',
      'README.md',
      'bin/provision.js',
      'bin/bundle-loader.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/cli/provision.cjs',
      'dist/mocks/index.js',
      'recipes/freebsd-9.yaml',
      'schema/fleet.schema.json',
      '.env.example',
    ]) {
      expect(files.has(f), f).toBe(true)
    }
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
  })

  it('holds every docs/ file a message or the help points to', () => {
    const cited = new Set(
      sourceFiles(join(root, 'src'))
        .concat(sourceFiles(join(root, 'mocks')))
        .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/(?<!XCP-ng )docs\/[a-z0-9/-]+\.(?:md|yaml)/g)].map((m) => m[0])),
    )
    expect(cited.size).toBeGreaterThan(3)
    for (const d of cited) expect(files.has(d), d).toBe(true)
  })

  it('leaves out the benchmarks, tests and source maps', () => {
    const unwanted = [...files].filter((f) => f.startsWith('dist/bench/') || f.startsWith('test/') || f.startsWith('bench/') || f.endsWith('.map'))
    expect(unwanted).toEqual([])
  })
})
