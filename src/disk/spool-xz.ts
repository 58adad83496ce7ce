import { fstatSync } from 'node:fs'
import { followSpool, FollowUnavailable } from './spool-follower.js'
import { expandsBeyond, type SpoolContext, type SpoolJob } from './spool-job.js'
import { xzToFile } from './xz-tool.js'

const BLOCK = 64 * 1024
/**
 * How often the spool's size is looked at for the progress line, the size limit and the
 * free space; unfollowed (a container: its tables are its map), the size is the mark, and
 * a cluster is handed to the upload at most this late (growing-disk.ts).
 */
const POLL_MS = 100

/**
 * An xz image's spool: xz writes it, sparse (xz-tool.ts), while a helper maps the blocks
 * it wrote (spool-follower.ts), so the map is ready when xz is done and a raw disk can be
 * uploaded behind it (spool.ts, `stream`). Without python3 or SEEK_DATA the map is left
 * to data-map.ts, after the spool is whole.
 */
export function spoolXz(c: SpoolContext): SpoolJob {
  const xz = xzToFile(c.path, c.out)
  let failure: { e: unknown } | undefined
  let stopped!: (e: unknown) => void
  const stop = new Promise<never>((_, reject) => (stopped = reject))
  stop.catch(() => undefined)
  const fail = (e: unknown): void => {
    if (failure) return
    failure = { e }
    stopped(e)
    xz.kill()
    follower.stop()
  }
  let followed = true
  const follower = followSpool(c.spool, BLOCK, () => c.step())
  // No python3 or no SEEK_DATA: known before any mark, so nothing followed the spool yet.
  const unfollowed = (e: unknown): void => {
    if (e instanceof FollowUnavailable && follower.mark() === 0) followed = false
    else throw e
  }
  follower.failed.catch((e: unknown) => {
    try {
      unfollowed(e)
    } catch {
      fail(e)
    }
  })
  // xz writes sequentially and seeks only forward: below the spool's size every byte is final.
  let sized = 0
  const timer = setInterval(() => {
    try {
      const size = fstatSync(c.out).size
      if (size > c.limit) throw expandsBeyond(c)
      if (!followed && size > sized) {
        sized = size
        c.step()
      }
      c.progress(xz.read(), size)
    } catch (e) {
      fail(e)
    }
  }, POLL_MS)
  timer.unref()
  const done = (async (): Promise<number> => {
    try {
      const e = await Promise.race([xz.exited, stop])
      if (e) throw e
      if (followed) await Promise.race([follower.finish().catch(unfollowed), stop])
      const size = fstatSync(c.out).size
      if (size > c.limit) throw expandsBeyond(c)
      return size
    } catch (e) {
      throw failure ? failure.e : e
    } finally {
      clearInterval(timer)
      xz.kill()
      follower.stop()
    }
  })()
  return {
    mark: () => (followed ? follower.mark() : sized),
    runs: () => (followed ? follower.runs : undefined),
    done,
    abort: fail,
    unfollow: () => {
      followed = false
      follower.stop()
    },
  }
}
