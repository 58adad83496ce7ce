import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isProcessAlive } from './provision/process-alive.js'

/**
 * What a run keeps in a temporary directory of its own: `--host sim`'s sample image, a
 * cloud-init drive while it is built and uploaded, convert's boot-code patches. Named
 * <tmp>/xcp-provision-<kind>-<pid>-XXXXXX so that the pid tells whether its run is gone.
 */
export type RunDirKind = 'sample' | 'drive' | 'bootcode'

/**
 * A directory for this run. A run killed with -9 cannot remove its own, so each run first
 * removes the ones of that kind whose process is gone (only this user's, and only when
 * that process no longer exists). Returns the directory and how many stale ones went.
 */
export async function runDir(kind: RunDirKind): Promise<{ dir: string; removedStale: number }> {
  const base = tmpdir()
  const prefix = `xcp-provision-${kind}-`
  let removedStale = 0
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = new RegExp(`^${prefix}(\\d+)-[A-Za-z0-9]{6}$`).exec(name)
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
  return { dir: await mkdtemp(join(base, `${prefix}${process.pid}-`)), removedStale }
}
