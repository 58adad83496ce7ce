import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isProcessAlive } from '../provision/process-alive.js'

/** `--host sim` writes its sample image under <tmp>/xcp-provision-sample-<pid>-XXXXXX. */
const PREFIX = 'xcp-provision-sample-'

/**
 * A directory for this run's sample image. A run killed with -9 cannot remove its own,
 * so each run first removes those whose process is gone (the pid is in the name; only
 * this user's, and only when that process no longer exists). Returns the directory and
 * how many stale ones went.
 */
export async function sampleImageDir(): Promise<{ dir: string; removedStale: number }> {
  const base = tmpdir()
  let removedStale = 0
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = new RegExp(`^${PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(name)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.pid || isProcessAlive(pid)) continue
    const path = join(base, name)
    const s = await stat(path).catch(() => undefined)
    if (!s?.isDirectory() || s.uid !== process.getuid?.()) continue
    await rm(path, { recursive: true, force: true }).then(
      () => removedStale++,
      () => undefined,
    )
  }
  return { dir: await mkdtemp(join(base, `${PREFIX}${process.pid}-`)), removedStale }
}
