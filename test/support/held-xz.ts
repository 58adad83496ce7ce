import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

/** A held decompression: what the test sees of the wrapper. */
export interface HeldXz {
  /** The directory to put first on PATH. */
  bin: string
  /** Lets the held output go on (idempotent). */
  release(): void
  released(): boolean
  /** The wrapper stopped holding on its own after 15 s: nobody released it. */
  gaveUp(): boolean
}

/**
 * The real xz behind a wrapper that passes the first `holdAfter` bytes of a decompression
 * (`xz -dc`, what the spool runs) and then holds the rest until the test releases it, 15 s
 * at most. Other xz commands (compressing a fixture) run the real xz as they are. SIGTERM,
 * the run stopping its decompression, ends both at once. The overlap tests use it to show
 * that an upload starts before xz has finished: they release only once a segment is sent.
 */
export function heldXz(dir: string, holdAfter: number): HeldXz {
  const real = execFileSync('sh', ['-c', 'command -v xz']).toString().trim()
  const bin = join(dir, 'bin')
  const release = join(dir, 'release')
  mkdirSync(bin, { recursive: true })
  writeFileSync(
    join(bin, 'xz'),
    `#!/usr/bin/python3
import os, signal, subprocess, sys, time
if sys.argv[1:2] != ['-dc']:
    os.execv(${JSON.stringify(real)}, ['xz'] + sys.argv[1:])
p = subprocess.Popen([${JSON.stringify(real)}] + sys.argv[1:], stdout=subprocess.PIPE)
signal.signal(signal.SIGTERM, lambda *_: (p.kill(), os._exit(143)))
def copy(n):
    while n:
        b = p.stdout.read(min(n, 1 << 20))
        if not b:
            return
        os.write(1, b)
        n -= len(b)
copy(${holdAfter})
for _ in range(300):
    if os.path.exists(${JSON.stringify(release)}):
        break
    time.sleep(0.05)
else:
    open(${JSON.stringify(`${release}.timeout`)}, 'w').write('gave-up')
copy(1 << 62)
sys.exit(p.wait())
`,
  )
  chmodSync(join(bin, 'xz'), 0o755)
  return {
    bin,
    release: () => writeFileSync(release, 'go'),
    released: () => existsSync(release),
    gaveUp: () => existsSync(`${release}.timeout`),
  }
}
