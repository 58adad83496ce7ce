import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's root, whether running from src/ (tsx, vitest) or from dist/. */
export function packageRoot(from = import.meta.url): string {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'recipes'))) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the xcp-provision package root')
    dir = up
  }
}
