import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheFile } from '../../src/fleet/hash-cache.js'
import { ImageHashes, imageSha256 } from '../../src/fleet/image-hash.js'
import { scanDataRegions } from '../../src/upload/find/data-map.js'
import { needs } from '../support/oracles.js'
import { watchLoopBlocks, type LoopBlocks } from '../support/loop-blocks.js'

const MiB = 1024 * 1024

/**
 * A sparse raw image: `pieces` of random data spread over `size` bytes, the rest holes.
 * `compressible`: each piece is 4 KiB of random bytes over and over, so that a qcow2's
 * 64 KiB clusters shrink and `qemu-img convert -c` stores them compressed (it stores a
 * cluster of random bytes as it is).
 */
async function sparseImage(file: string, size: number, pieces: number, pieceSize = MiB, compressible = false): Promise<string> {
  const fh = await open(file, 'w')
  const piece = (): Buffer => (compressible ? Buffer.alloc(pieceSize, randomBytes(4096)) : randomBytes(pieceSize))
  for (let i = 0; i < pieces; i++) await fh.write(piece(), 0, pieceSize, Math.floor((i * (size - pieceSize)) / Math.max(1, pieces - 1)))
  await fh.truncate(size)
  await fh.close()
  return file
}

const sums = new Map<string, string>()
/**
 * The oracle: the file's sha256 as an outside program reads it, every byte, holes
 * included, once per file content (keyed by ctime: a rewrite is summed again). It is the
 * digest `sha256sum` prints; `openssl dgst` computes it with the CPU's SHA instructions,
 * which Debian's coreutils sha256sum does not use: 300 MiB cost 2.9 s of CPU there, 0.3 s here.
 */
async function sha256sum(file: string): Promise<string> {
  const key = `${file} ${(await stat(file, { bigint: true })).ctimeNs}`
  let sum = sums.get(key)
  if (sum === undefined) sums.set(key, (sum = execFileSync('openssl', ['dgst', '-sha256', '-r', file], { encoding: 'utf8' }).split(' ')[0]!))
  return sum
}
/** The cache keeps only images unchanged for 2 s (hash-cache.ts, SETTLED_MS): the files below are made first, then aged once. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2100))

let dir: string
let small: string
let large: string
/** Each used by one test, which changes it: made here so that one wait of settle() ages them all. */
let touchedImage: string
let changingImage: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-hash-'))
  small = await sparseImage(join(dir, 'small.raw'), 64 * MiB, 5)
  // Larger than IN_THREAD_MAX: hashed on the worker, with progress every 256 MiB.
  large = await sparseImage(join(dir, 'large.raw'), 300 * MiB, 7)
  touchedImage = await sparseImage(join(dir, 'touched.raw'), 64 * MiB, 3)
  changingImage = await sparseImage(join(dir, 'changing.raw'), 300 * MiB, 3)
  await settle()
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const envIn = async (): Promise<Record<string, string>> => ({ XDG_CACHE_HOME: await mkdtemp(join(dir, 'cache-')) })

const openssl = needs('openssl')

describe('an image sha256 (a fleet base VDI identity)', () => {
  openssl.it('is what sha256sum prints of the raw file, on the main thread (small) and on the worker (large)', async () => {
    for (const file of [small, large]) expect(await imageSha256(file, await scanDataRegions(file))).toBe(await sha256sum(file))
  })

  const qemu = needs('qemu-img', 'openssl')
  qemu.it('of a qcow2 (plain and compressed), is what sha256sum prints of qemu-img convert -O raw of it', async () => {
    // Just above IN_THREAD_MAX (128 MiB): the container's pieces are read on the worker, at half the cost of `large`.
    const source = await sparseImage(join(dir, 'for-qcow2.raw'), 136 * MiB, 7, MiB, true)
    for (const flags of [[], ['-c']]) {
      const q = join(dir, `large${flags.join('')}.qcow2`)
      execFileSync('qemu-img', ['convert', '-q', ...flags, '-O', 'qcow2', source, q])
      // qemu-img map gives no host offset for a compressed cluster: the -c image has them
      // (once in 5 runs qemu-img left one extent plain), the plain one none.
      const mapped = (JSON.parse(execFileSync('qemu-img', ['map', '--output=json', q], { encoding: 'utf8' })) as { data: boolean; offset?: number }[]).filter((e) => e.data)
      expect(mapped.filter((e) => e.offset === undefined).length > mapped.length / 2, JSON.stringify(mapped)).toBe(flags.length > 0)
      const back = join(dir, `back${flags.join('')}.raw`)
      execFileSync('qemu-img', ['convert', '-q', '-O', 'raw', q, back])
      expect(await imageSha256(q, await scanDataRegions(q))).toBe(await sha256sum(back))
    }
  })

  openssl.it('is remembered: a second hash of the unchanged image comes from the cache, whose file is 0600 in a 0700 directory', async () => {
    const env = await envIn()
    const map = await scanDataRegions(large)
    const first = new ImageHashes({ env })
    expect(await first.get(large, map)).toBe(await sha256sum(large))
    expect(first.cached.has(large)).toBe(false)
    const again = new ImageHashes({ env })
    expect(await again.get(large, map)).toBe(await sha256sum(large))
    expect(again.cached.has(large)).toBe(true)
    expect((await stat(cacheFile(env))).mode & 0o777).toBe(0o600)
    expect((await stat(join(cacheFile(env), '..'))).mode & 0o777).toBe(0o700)
  })

  openssl.it('is hashed again once the file is touched, even with its mtime put back, or rewritten in place', async () => {
    const env = await envIn()
    const file = touchedImage
    const map = await scanDataRegions(file)
    // The file's times to the nanosecond, kept on another file (utimes with a Date keeps only ms).
    const ref = `${file}.times`
    await writeFile(ref, '')
    execFileSync('touch', ['-r', file, ref])
    await new ImageHashes({ env }).get(file, map)
    // `touch` to the very same mtime: only ctime tells.
    execFileSync('touch', ['-r', ref, file])
    expect((await stat(file, { bigint: true })).mtimeNs).toBe((await stat(ref, { bigint: true })).mtimeNs)
    const touched = new ImageHashes({ env })
    expect(await touched.get(file, await scanDataRegions(file))).toBe(await sha256sum(file))
    expect(touched.cached.has(file)).toBe(false)
    // Same size, same mtime, other bytes.
    const fh = await open(file, 'r+')
    await fh.write(Buffer.from('other bytes'), 0, 11, 0)
    await fh.close()
    execFileSync('touch', ['-r', ref, file])
    const rewritten = new ImageHashes({ env })
    expect(await rewritten.get(file, await scanDataRegions(file))).toBe(await sha256sum(file))
    expect(rewritten.cached.has(file)).toBe(false)
  })

  it('is not remembered when the image changes while it is hashed', async () => {
    const env = await envIn()
    const file = changingImage
    const map = await scanDataRegions(file)
    let touched = false
    const hashes = new ImageHashes({
      env,
      onProgress: () => {
        if (touched) return
        touched = true
        const t = new Date('2020-01-01T00:00:00Z')
        void utimes(file, t, t)
      },
    })
    await hashes.get(file, map)
    expect(touched).toBe(true)
    // No entry: the one it would make is of the file as it was, which can never match again.
    const entries = await readFile(cacheFile(env), 'utf8').then(
      (t) => (JSON.parse(t) as { entries: { path: string }[] }).entries,
      () => [],
    )
    expect(entries.map((e) => e.path)).not.toContain(file)
  })

  openssl.it('ignores a corrupt cache file and writes a good one; a cache that cannot be written costs nothing but the cache', async () => {
    const env = await envIn()
    const map = await scanDataRegions(small)
    await mkdir(join(cacheFile(env), '..'), { recursive: true })
    for (const junk of ['{"version":1,"entries":[{"path":', '\0\0\0', JSON.stringify({ version: 1, entries: [{ path: small, sha256: 'not hex' }] })]) {
      await writeFile(cacheFile(env), junk)
      const h = new ImageHashes({ env })
      expect(await h.get(small, map)).toBe(await sha256sum(small))
      expect(h.cached.has(small)).toBe(false)
      expect(JSON.parse(await readFile(cacheFile(env), 'utf8')).entries[0].sha256).toBe(await sha256sum(small))
    }
    // XDG_CACHE_HOME a file: no directory can be made under it.
    const notDir = join(dir, 'not-a-dir')
    await writeFile(notDir, '')
    expect(await new ImageHashes({ env: { XDG_CACHE_HOME: notDir } }).get(small, map)).toBe(await sha256sum(small))
  })

  it('stops when the rollout is abandoned (Ctrl-C): the hash rejects, the worker goes', async () => {
    const ac = new AbortController()
    const hashing = imageSha256(large, await scanDataRegions(large), { signal: ac.signal, onProgress: () => ac.abort() })
    await expect(hashing).rejects.toThrow('hashing the image was abandoned')
  })

  it('never holds the event loop: the main thread never runs 50 ms between two ticks of a 10 ms timer while a 640 MiB sparse image is hashed', async () => {
    // Two holes of ~316 MiB: the code before the worker hashed a whole hole between two
    // turns of the event loop (188 ms with 2 GiB in 9 pieces, holes of 256 MiB). A size
    // past the worker's threshold and long holes are what this needs, not gigabytes: each
    // MiB costs ~0.9 ms of CPU.
    const file = await sparseImage(join(dir, 'big.raw'), 640 * MiB, 3, 4 * MiB)
    const map = await scanDataRegions(file)
    // The main thread's CPU between two ticks, not the wall time: on a loaded machine a gap
    // lasted 88-212 ms while the process only waited for a core.
    const loop = watchLoopBlocks(10)
    let seen: LoopBlocks
    try {
      // Its value is the tests' above (the oracle's read of the whole file would double this test's time).
      expect(await imageSha256(file, map)).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      seen = loop.stop()
    }
    expect(seen.longestBusyMs, `longest gap ${seen.longestGapMs.toFixed(0)} ms`).toBeLessThan(50)
  }, 60_000)
})
