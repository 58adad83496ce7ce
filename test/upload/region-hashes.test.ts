import { readdirSync, readFileSync } from 'node:fs'
import { getPriority } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { IN_THREAD_MAX } from '../../src/upload/find/map-pool.js'
import { BACKGROUND_NICE, hashedBytes, regionHashes } from '../../src/upload/find/region-hashes.js'
import { uploadImage } from '../../src/upload/upload.js'
import { withSimulator, connectTo } from '../support/simulator.js'
import { MiB, createVdi, exportSha256, fileSha256, scattered, sha256, tempDir, writeSparse } from './helpers.js'
import { readFile } from 'node:fs/promises'

/** The niceness of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      // The command name, in parentheses, may hold spaces: the fields start after its ')'.
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]
    } catch {
      return [] // the thread ended between the listing and the read
    }
  })
}

/** A sparse image above IN_THREAD_MAX, so it is hashed in workers, with `count` MiB of data. */
async function largeImage(count: number): Promise<string> {
  const size = IN_THREAD_MAX + 64 * MiB
  const image = join(await tempDir(), 'large.img')
  await writeSparse(image, size, scattered(size, count, MiB))
  return image
}

/** The regions' sha256s as the test computes them from the file itself. */
async function expectedHashes(image: string, regions: readonly { offset: number; length: number }[]): Promise<string[]> {
  const bytes = await readFile(image)
  return regions.map((r) => sha256(bytes.subarray(r.offset, r.offset + r.length)))
}
const split = (b: Buffer): string[] => Array.from({ length: b.length / 32 }, (_, i) => b.subarray(32 * i, 32 * i + 32).toString('hex'))

describe("an upload's insurance hashing", () => {
  it.runIf(process.platform === 'linux' && getPriority() < BACKGROUND_NICE)('runs in worker threads niced to BACKGROUND_NICE, leaving the main thread alone, and gives the same hashes', async () => {
    const image = await largeImage(48)
    const map = await scanDataRegions(image, { hash: false })
    // The suite may itself run niced: the workers go to at least BACKGROUND_NICE, never above the process.
    const base = getPriority()
    const before = threadNiceness()
    expect(before.every((n) => n === base)).toBe(true)
    const seen = new Set<number>()
    let hashing = true
    const done = regionHashes(map, { workers: 1, background: new AbortController().signal }).finally(() => (hashing = false))
    // Watch the threads while the hashing runs (48 MiB: tens of ms after the worker starts).
    while (hashing) {
      for (const n of threadNiceness()) seen.add(n)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(split(await done)).toEqual(await expectedHashes(image, map.regions))
    expect(seen).toContain(Math.max(base, BACKGROUND_NICE))
    // The main thread (the process's first task) kept its priority.
    expect(threadNiceness()[0]).toBe(base)
    expect(hashedBytes(map)).toBe(map.dataBytes)
  })

  it('stops when abandoned, is forgotten, and a later call (--verify) hashes again from the start', async () => {
    const image = await largeImage(32)
    const map = await scanDataRegions(image, { hash: false })
    const stop = new AbortController()
    const abandoned = regionHashes(map, { workers: 1, background: stop.signal })
    stop.abort()
    await expect(abandoned).rejects.toThrow(/abandoned/)
    const again = regionHashes(map)
    expect(again).not.toBe(abandoned)
    expect(split(await again)).toEqual(await expectedHashes(image, map.regions))
    // Counted as read: what the abandoned hashing got through (at most all), then all of it again.
    expect(hashedBytes(map)).toBeGreaterThanOrEqual(map.dataBytes)
    expect(hashedBytes(map)).toBeLessThanOrEqual(2 * map.dataBytes)
  })

  it('is shared by the uploads of one map (a fleet sends one image to several pools): it stops only when the last of them lets go, and never while a caller needs it', async () => {
    const image = await largeImage(32)
    const map = await scanDataRegions(image, { hash: false })
    const want = await expectedHashes(image, map.regions)
    const [a, b] = [new AbortController(), new AbortController()]
    const first = regionHashes(map, { workers: 1, background: a.signal })
    const second = regionHashes(map, { workers: 1, background: b.signal })
    expect(second).toBe(first)
    // The first upload is done; the second still wants its checkpoints.
    a.abort()
    expect(split(await second)).toEqual(want)

    const other = await scanDataRegions(image, { hash: false })
    const [c, d] = [new AbortController(), new AbortController()]
    const upload = regionHashes(other, { workers: 1, background: c.signal })
    // --verify asks without a signal: it needs them, whatever the uploads do.
    const verify = regionHashes(other)
    void regionHashes(other, { background: d.signal })
    c.abort()
    d.abort()
    expect(verify).toBe(upload)
    expect(split(await verify)).toEqual(want)
  })

  it('--verify after an upload (keepHashes) gets the hashes the upload started: the data hashed once, not again', async () => {
    const sim = await withSimulator()
    const x = await connectTo(sim)
    const image = await largeImage(24)
    const map = await scanDataRegions(image, { live: true })
    const vdi = await createVdi(x, sim, map.size)
    const result = await uploadImage(x, { vdi, image, map, tuning: { segmentBytes: 4 * MiB }, keepHashes: true })
    expect(result.segments.length).toBeGreaterThan(1)
    expect(split(await regionHashes(map))).toEqual(await expectedHashes(image, map.regions))
    expect(hashedBytes(map)).toBe(map.dataBytes)
    expect(await exportSha256(sim, x, vdi, map.size)).toBe(await fileSha256(image))
  })
})
