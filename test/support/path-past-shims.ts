import { execFileSync } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'

/**
 * PATH with python3's own directory first when the python3 PATH finds is a version
 * manager's shim (pyenv's is a bash script that runs some 30 processes, ~60 ms of CPU,
 * before Python starts). Every upload starts python3 for the SEEK_DATA helper, and the
 * suite runs python3 itself too: hundreds of starts per run (docs/testing.md "Time").
 * The interpreter is the one the shim would have run; elsewhere PATH is left as it is.
 */
export function pathPastShims(path: string | undefined): string | undefined {
  if (!path) return path
  const dirs = path.split(delimiter)
  const first = dirs
    .map((d) => join(d, 'python3'))
    .find((p) => {
      try {
        realpathSync(p)
        return true
      } catch {
        return false
      }
    })
  if (!first) return path
  let exe: string
  try {
    exe = execFileSync(first, ['-I', '-S', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch {
    return path // no working python3: the tests that need it say so (test/support/oracles.ts)
  }
  if (!exe || realpathSync(first) === realpathSync(exe)) return path
  return [dirname(exe), ...dirs].join(delimiter)
}
