import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { scanDataRegions, SCAN_BLOCK, MAX_REGION } from '../../src/upload/find/data-map.js'
import { alignExtents, seekDataExtents, SeekDataUnavailable } from '../../src/upload/find/seek-data.js'
import { hashInWorkers, IN_THREAD_MAX, mapInWorkers } from '../../src/upload/find/map-pool.js'
import { hashedBytes, regionHashes } from '../../src/upload/find/region-hashes.js'
import { identityOf } from '../../src/upload/resume/checkpoint.js'
import { splitSegments } from '../../src/upload/resume/segments.js'
import { bodyLength } from '../../src/upload/send/chunked-body.js'
import { framedLength } from '../../src/xapi/chunk-framing.js'
import { MiB, pattern, tempDir, writeSparse } from './helpers.js'
import { needs } from '../support/oracles.js'

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('finding the data', () => {
  needs('python3').it('SEEK_DATA and a full read give the same map; SEEK_DATA reads only the allocated extents', async () => {
    const image = join(await tempDir(), 'img')
    // Unaligned data, written zeros inside data (skipped all the same), a 20 MiB run (split at a MAX_REGION boundary).
    await writeSparse(image, 256 * MiB, [
      { offset: 3, data: pattern(100, 1) },
      { offset: 10 * MiB, data: Buffer.concat([pattern(SCAN_BLOCK, 2), Buffer.alloc(4 * SCAN_BLOCK), pattern(10, 3)]) },
      { offset: 100 * MiB + 5000, data: pattern(20 * MiB, 4) },
      { offset: 256 * MiB - 10, data: pattern(10, 5) },
    ])
    const fast = await scanDataRegions(image)
    const slow = await scanDataRegions(image, { seekData: false })
    expect(fast.method).toBe('seek-data')
    expect(slow.method).toBe('scan')
    expect(fast.regions).toEqual(slow.regions)
    expect(fast.dataBytes).toBe(slow.dataBytes)
    // Each region's hash is the sha256 of exactly its bytes, whatever the number of workers.
    const bytes = await readFile(image)
    const hashes = await regionHashes(fast)
    fast.regions.forEach((r, i) => {
      expect(hashes.subarray(i * 32, i * 32 + 32).toString('hex')).toBe(
        createHash('sha256')
          .update(bytes.subarray(r.offset, r.offset + r.length))
          .digest('hex'),
      )
    })
    expect((await hashInWorkers(image, fast.regions, 4 * MiB, 1)).equals(hashes)).toBe(true)
    expect(fast.regions[0]).toEqual({ offset: 0, length: SCAN_BLOCK })
    expect(fast.regions[1]).toEqual({ offset: 10 * MiB, length: SCAN_BLOCK })
    expect(fast.regions[2]).toEqual({ offset: 10 * MiB + 5 * SCAN_BLOCK, length: SCAN_BLOCK })
    // The 20 MiB run is cut where a MAX_REGION-aligned window ends: no region spans two.
    expect(fast.regions[3]).toEqual({ offset: 100 * MiB, length: 112 * MiB - 100 * MiB })
    expect(fast.regions[4]).toEqual({ offset: 112 * MiB, length: MiB * 8 + SCAN_BLOCK })
    expect(fast.regions.every((r) => Math.floor(r.offset / MAX_REGION) === Math.floor((r.offset + r.length - 1) / MAX_REGION))).toBe(true)
    expect(fast.regions.at(-1)).toEqual({ offset: 256 * MiB - SCAN_BLOCK, length: SCAN_BLOCK })
    expect(slow.bytesRead).toBe(256 * MiB)
    expect(fast.bytesRead).toBeLessThan(24 * MiB)
  })

  it('maps the same whatever the number of workers', async () => {
    const image = join(await tempDir(), 'img')
    await writeSparse(image, 80 * MiB, [
      { offset: 0, data: pattern(40 * MiB, 1) },
      { offset: 50 * MiB + 77, data: pattern(3 * MiB, 2) },
    ])
    const windows = async function* (): AsyncGenerator<{ offset: number; length: number }> {
      for (let o = 0; o < 80 * MiB; o += MAX_REGION) yield { offset: o, length: MAX_REGION }
    }
    const one = await mapInWorkers(image, windows(), SCAN_BLOCK, 4 * MiB, { workers: 1 })
    const three = await mapInWorkers(image, windows(), SCAN_BLOCK, 4 * MiB, { workers: 3 })
    // 0: on the main thread, as for a small image.
    const none = await mapInWorkers(image, windows(), SCAN_BLOCK, 4 * MiB, { workers: 0 })
    expect(three.regions).toEqual(one.regions)
    expect(none.regions).toEqual(one.regions)
    expect(three.dataBytes).toBe(one.dataBytes)
    expect(none.dataBytes).toBe(one.dataBytes)
    expect(one.regions).toHaveLength(4)
  })

  it('hashes the regions as it maps them: the same hashes as reading them again, wherever runs meet read boundaries', async () => {
    const image = join(await tempDir(), 'img')
    const block = SCAN_BLOCK
    // Reads of 2 blocks: runs that end on a read boundary, start on one, span several, a zero block at a read's start, a short tail.
    await writeSparse(image, 40 * MiB + 3000, [
      { offset: 0, data: pattern(2 * block, 1) },
      { offset: 3 * block, data: pattern(4 * block, 2) },
      { offset: 8 * block + 17, data: pattern(block, 3) },
      { offset: 14 * MiB, data: pattern(5 * MiB, 4) },
      { offset: 40 * MiB, data: pattern(3000, 5) },
    ])
    const windows = async function* (): AsyncGenerator<{ offset: number; length: number }> {
      for (let o = 0; o < 40 * MiB + 3000; o += MAX_REGION) yield { offset: o, length: Math.min(MAX_REGION, 40 * MiB + 3000 - o) }
    }
    const plain = await mapInWorkers(image, windows(), block, 2 * block, { workers: 2 })
    const want = await hashInWorkers(image, plain.regions, 4 * MiB, 1)
    for (const count of [0, 2]) {
      const hashed = await mapInWorkers(image, windows(), block, 2 * block, { workers: count, hashing: true })
      expect(hashed.regions).toEqual(plain.regions)
      expect(hashed.hashes!.equals(want)).toBe(true)
    }
    expect(plain.hashes).toBeUndefined()
    expect(plain.regions.length).toBeGreaterThan(5)
  })

  needs('python3').it('a small image is mapped on the main thread, a large one hashed as it is mapped: same map, hashes and identity as the other paths', async () => {
    const dir = await tempDir()
    const pieces = [
      { offset: 5, data: pattern(200, 1) },
      { offset: 30 * MiB, data: pattern(3 * MiB, 2) },
      { offset: 100 * MiB + 9, data: pattern(20 * MiB, 3) },
    ]
    const small = join(dir, 'small')
    const large = join(dir, 'large')
    await writeSparse(small, IN_THREAD_MAX, pieces)
    await writeSparse(large, IN_THREAD_MAX + SCAN_BLOCK, pieces)
    const bytes = await readFile(large)
    const sha = (r: { offset: number; length: number }): string =>
      createHash('sha256')
        .update(bytes.subarray(r.offset, r.offset + r.length))
        .digest('hex')
    // Small: no SEEK_DATA helper (so 'scan'), the same regions as the helper finds in the same data.
    const inThread = await scanDataRegions(small)
    expect(inThread.method).toBe('scan')
    const viaHelper = await scanDataRegions(large, { hash: false })
    expect(viaHelper.method).toBe('seek-data')
    expect(inThread.regions).toEqual(viaHelper.regions)
    expect(inThread.hashes).toBeUndefined()
    const smallHashes = await regionHashes(inThread)
    expect(inThread.regions.map((_, i) => smallHashes.subarray(32 * i, 32 * i + 32).toString('hex'))).toEqual(inThread.regions.map(sha))
    // Large, hashed while mapped: one pass, so regionHashes starts nothing and reads nothing more.
    const oneRead = await scanDataRegions(large, { hash: true })
    expect(oneRead.regions).toEqual(viaHelper.regions)
    expect(oneRead.bytesRead).toBe(viaHelper.bytesRead)
    expect(await regionHashes(oneRead)).toBe(oneRead.hashes)
    expect(hashedBytes(oneRead)).toBe(0)
    const twoReads = await regionHashes(viaHelper)
    expect(oneRead.hashes!.equals(twoReads)).toBe(true)
    expect(identityOf(oneRead, oneRead.hashes!)).toEqual(identityOf(viaHelper, twoReads))
    expect(oneRead.regions.map((_, i) => oneRead.hashes!.subarray(32 * i, 32 * i + 32).toString('hex'))).toEqual(oneRead.regions.map(sha))
  })

  needs('python3').it('reads a file without holes whole, without asking the SEEK_DATA helper: the same map', async () => {
    const image = join(await tempDir(), 'img')
    // Every block written (zeros included, which the map still skips): nothing for SEEK_DATA to find.
    const size = IN_THREAD_MAX + SCAN_BLOCK
    await writeSparse(image, size, [
      { offset: 0, data: Buffer.alloc(size - 2 * SCAN_BLOCK, 7) },
      { offset: size - 2 * SCAN_BLOCK, data: Buffer.alloc(2 * SCAN_BLOCK) },
    ])
    const map = await scanDataRegions(image)
    // With python3 at hand, 'seek-data' would say the helper was asked.
    expect(map.method).toBe('scan')
    expect(map.regions).toHaveLength(8)
    expect(map.regions.at(-1)).toEqual({ offset: 7 * MAX_REGION, length: MAX_REGION - SCAN_BLOCK })
    expect(map.regions).toEqual((await scanDataRegions(image, { seekData: false })).regions)
  })

  it('falls back to reading everything when the helper cannot run', async () => {
    const image = join(await tempDir(), 'img')
    await writeSparse(image, 8 * MiB, [{ offset: MiB, data: pattern(10, 1) }])
    await expect(collect(seekDataExtents(image, 8 * MiB, '/nonexistent/python3'))).rejects.toBeInstanceOf(SeekDataUnavailable)
    const map = await scanDataRegions(image, { python: '/nonexistent/python3' })
    expect(map.method).toBe('scan')
    expect(map.regions).toEqual([{ offset: MiB, length: SCAN_BLOCK }])
  })

  it('widens extents to the zero-detection grid and merges the ones that then touch', async () => {
    const ext = [
      { offset: 4096, length: 4096 },
      { offset: 60 * 1024, length: 8192 },
      { offset: 200 * 1024, length: 1 },
    ]
    expect(await collect(alignExtents(from(ext), SCAN_BLOCK, 200 * 1024 + 10))).toEqual([
      { offset: 0, length: 2 * SCAN_BLOCK },
      { offset: 3 * SCAN_BLOCK, length: 200 * 1024 + 10 - 3 * SCAN_BLOCK },
    ])
  })
})

describe('segments', () => {
  const map = (regions: { offset: number; length: number }[], size: number) => ({
    path: '/nonexistent',
    size,
    regions,
    dataBytes: regions.reduce((n, r) => n + r.length, 0),
    bytesRead: 0,
    method: 'scan' as const,
    mtimeMs: 0,
  })

  it('cut at region starts once a segment holds enough data, and cover the image without gaps', () => {
    const m = map(
      [0, 1, 2, 3, 4].map((i) => ({ offset: i * 10 * MiB, length: 3 * MiB })),
      64 * MiB,
    )
    const segs = splitSegments(m, 5 * MiB)
    expect(segs.map((s) => [s.start, s.end, s.firstRegion, s.regions.length])).toEqual([
      [0, 20 * MiB, 0, 2],
      [20 * MiB, 40 * MiB, 2, 2],
      [40 * MiB, 64 * MiB, 4, 1],
    ])
    expect(segs.map((s) => s.bodyBytes)).toEqual(segs.map((s) => framedLength(s.regions)))
    expect(bodyLength(m, 5 * MiB)).toBe(segs.reduce((n, s) => n + s.bodyBytes, 0))
    // From a checkpoint: the rest only, with the same regions numbered as in the whole map.
    expect(splitSegments(m, 5 * MiB, 20 * MiB).map((s) => [s.start, s.end, s.firstRegion])).toEqual([
      [20 * MiB, 40 * MiB, 2],
      [40 * MiB, 64 * MiB, 4],
    ])
  })

  it('give an image without data one empty segment', () => {
    expect(splitSegments(map([], 10 * MiB))).toEqual([{ index: 0, regions: [], firstRegion: 0, start: 0, end: 10 * MiB, dataBytes: 0, bodyBytes: 12 }])
  })
})
