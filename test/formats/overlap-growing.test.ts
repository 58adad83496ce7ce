import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { needs } from '../support/oracles.js'
import { MiB, pattern, tempDir, writeSparse } from '../upload/helpers.js'
import { openGrowing, type SpoolFront } from '../../src/disk/growing-disk.js'
import { openDisk } from '../../src/disk/open-disk.js'
import { DiskFormatError, type Extent } from '../../src/disk/virtual-disk.js'
import { alignedWindows } from '../../src/upload/find/growing-map.js'
import { alignExtents } from '../../src/upload/find/seek-data.js'
import { convert, LAYOUTS, qemuRaw } from './fixtures.js'

/**
 * The container reader over a spool that xz is still writing (growing-disk.ts), held to
 * qemu-img: the spool is written here step by step, and every byte past the frontier is
 * garbage (0xa5) until its step, so a reader that looked past the frontier would return
 * wrong data or fail. Whatever the layout (qemu-img's order, clusters written in reverse
 * by qemu-io, compressed clusters, a VMDK), the disk read equals `qemu-img convert -O raw`.
 */
const qemu = needs('qemu-img')
const SIZE = 40 * MiB
const STEP = 256 * 1024
let dir: string

beforeEach(async () => {
  dir = await tempDir()
})

/** Data in five runs, at 0, 8, 16, 24, 32 MiB: each 1.5 MiB, the last crossing nothing. */
async function raw(): Promise<string> {
  const path = join(dir, 'disk.raw')
  await writeSparse(
    path,
    SIZE,
    [0, 8, 16, 24, 32].map((m, i) => ({ offset: m * MiB + (i ? 777 : 0), data: pattern(1.5 * MiB, i + 1) })),
  )
  return path
}

/** The same disk written by qemu-io from its last run to its first: the first guest clusters lie at the end of the file. */
function reversed(): string {
  const path = join(dir, 'reversed.qcow2')
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, String(SIZE)])
  const args = [32, 24, 16, 8, 0].flatMap((m, i) => ['-c', `write -P ${0x30 + i} ${m * MiB} 1536k`])
  execFileSync('qemu-io', ['-f', 'qcow2', ...args, path], { stdio: 'ignore' })
  return path
}

/**
 * Writes `image` into a spool as xz would, STEP bytes at a time (garbage beyond), while
 * the container is read: each extent is read back at once and compared with the oracle.
 * Returns the extents, and the frontier when the first one came.
 */
async function follow(image: string): Promise<{ extents: Extent[]; firstAt: number; frontier: number; size: number }> {
  const final = readFileSync(image)
  const spool = join(dir, 'spool')
  writeFileSync(spool, Buffer.alloc(final.length, 0xa5))
  const fd = openSync(spool, 'r+')
  let frontier = 0
  let wake: (() => void) | undefined
  const front: SpoolFront = {
    spool,
    fileSize: final.length,
    written: () => frontier,
    // Each wait lets the "xz" write one more step.
    next: () =>
      new Promise<void>((resolve) => {
        wake = resolve
        setImmediate(() => {
          const n = Math.min(STEP, final.length - frontier)
          writeSync(fd, final, frontier, n, frontier)
          frontier += n
          wake?.()
        })
      }),
  }
  const whole = new Promise<void>(() => undefined)
  try {
    const c = await openGrowing(front, whole)
    const want = qemuRaw(image, join(dir, 'oracle.raw'))
    const disk = c.open()
    const extents: Extent[] = []
    let firstAt = -1
    for await (const e of c.extents()) {
      if (firstAt < 0) firstAt = frontier
      extents.push(e)
      expect(disk.readAt(e.offset, e.length).equals(want.subarray(e.offset, e.offset + e.length)), `virtual ${e.offset}+${e.length}`).toBe(true)
    }
    disk.close()
    // Everything outside the extents reads as zeros in the oracle too.
    let covered = 0
    for (const e of extents) covered += e.length
    expect(covered).toBeGreaterThan(0)
    const merged = [...openDisk(image).allocated()]
    expect(mergeAll(extents)).toEqual(merged)
    return { extents, firstAt, frontier, size: final.length }
  } finally {
    closeSync(fd)
  }
}

function mergeAll(extents: Extent[]): Extent[] {
  const out: Extent[] = []
  for (const e of extents) {
    const last = out[out.length - 1]
    if (last && last.offset + last.length === e.offset) last.length += e.length
    else out.push({ ...e })
  }
  return out
}

qemu.describe('a container read while xz writes it', () => {
  qemu.it('qemu-img convert -O qcow2 (tables first, clusters in guest order): clusters come long before the spool is whole, every byte as qemu reads it', async () => {
    const image = convert(await raw(), LAYOUTS['qcow2 v3'], join(dir, 'disk.qcow2'))
    const r = await follow(image)
    expect(r.firstAt).toBeLessThan(r.size / 2)
  })

  qemu.it('clusters written in reverse guest order (qemu-io): the first guest cluster waits for the end of the file; the disk is still qemu’s', async () => {
    const r = await follow(reversed())
    expect(r.firstAt).toBeGreaterThan(r.size * 0.7)
  })

  qemu.it(
    'compressed clusters, 512-byte clusters, qcow2 v2, VMDK monolithicSparse and streamOptimized: every byte as qemu reads it',
    async () => {
      const base = await raw()
      for (const layout of ['qcow2 v3, compressed clusters', 'qcow2 v3, 512-byte clusters', 'qcow2 v2', 'VMDK monolithicSparse', 'VMDK streamOptimized'] as const) {
        const image = convert(base, LAYOUTS[layout], join(dir, `disk-${layout.replace(/\W+/g, '-')}`))
        await follow(image)
      }
    },
    60_000,
  )

  qemu.it('an L2 entry past the end of the file: the error a whole file gives, once the walk reaches it', async () => {
    const image = convert(await raw(), LAYOUTS['qcow2 v3'], join(dir, 'disk.qcow2'))
    const b = readFileSync(image)
    const l1 = Number(b.readBigUInt64BE(40))
    const l2 = Number(b.readBigUInt64BE(l1) & 0x00fffffffffffe00n)
    // The third run's first cluster (guest 16 MiB) now points far past the end.
    b.writeBigUInt64BE(0x8000000000000000n | BigInt(b.length + 64 * 1024 * 1024), l2 + ((16 * MiB) / 65536) * 8)
    writeFileSync(image, b)
    const whole = (() => {
      try {
        ;[...openDisk(image).allocated()]
      } catch (e) {
        return e
      }
    })()
    expect(whole).toBeInstanceOf(DiskFormatError)
    const { offset, problem } = whole as DiskFormatError
    const growing = await follow(image).catch((e: unknown) => e)
    expect(growing).toBeInstanceOf(DiskFormatError)
    expect(growing).toMatchObject({ offset, problem })
  })
})

qemu.describe('a dynamic VHD read while xz writes it (its footer copy at byte 0)', () => {
  qemu.it('qemu-img convert -O vpc -o subformat=dynamic: blocks come long before the spool is whole, every byte as qemu reads it, the footer at the end checked', async () => {
    const base = await raw()
    for (const layout of ['VHD dynamic', 'VHD dynamic, current_size'] as const) {
      const image = convert(base, LAYOUTS[layout], join(dir, `disk-${layout.replace(/\W+/g, '-')}.vhd`))
      const r = await follow(image)
      expect(r.firstAt, layout).toBeLessThan(r.size / 2)
      expect(r.frontier, layout).toBe(r.size)
    }
  })

  qemu.it('a BAT entry past the end of the file: the error a whole file gives', async () => {
    const image = convert(await raw(), LAYOUTS['VHD dynamic'], join(dir, 'disk.vhd'))
    const b = readFileSync(image)
    const bat = Number(b.readBigUInt64BE(512 + 16))
    // The third run's block (guest 16 MiB, 2 MiB blocks) now points far past the end.
    b.writeUInt32BE((b.length + 64 * MiB) / 512, bat + ((16 * MiB) / (2 * MiB)) * 4)
    writeFileSync(image, b)
    const whole = errorOf(() => [...openDisk(image).allocated()])
    expect(whole).toBeInstanceOf(DiskFormatError)
    const { offset, problem } = whole as DiskFormatError
    expect(problem).toMatch(/BAT entry 8 points to .* past the end of the file/)
    const growing = await follow(image).catch((e: unknown) => e)
    expect(growing).toBeInstanceOf(DiskFormatError)
    expect(growing).toMatchObject({ offset, problem })
  })

  qemu.it('a footer at the end that differs from the copy at byte 0: refused once the end is written, naming the footer', async () => {
    const image = convert(await raw(), LAYOUTS['VHD dynamic'], join(dir, 'disk.vhd'))
    const b = readFileSync(image)
    // The creator's name in the end footer only (its checksum left wrong: the whole file's own error is given).
    b.write('xxxx', b.length - 512 + 28, 'latin1')
    writeFileSync(image, b)
    const whole = errorOf(() => [...openDisk(image).allocated()])
    expect(whole).toMatchObject({ offset: b.length - 512 + 64, problem: expect.stringMatching(/footer checksum/) })
    const growing = await follow(image).catch((e: unknown) => e)
    expect(growing).toBeInstanceOf(DiskFormatError)
    expect(growing).toMatchObject({ offset: (whole as DiskFormatError).offset, problem: (whole as DiskFormatError).problem })
  })
  qemu.it('a valid footer at the end that differs from the copy: the whole file reads, the growing one is refused (the disk sent was read by the copy)', async () => {
    const image = convert(await raw(), LAYOUTS['VHD dynamic'], join(dir, 'disk.vhd'))
    const b = readFileSync(image)
    const at = b.length - 512
    b.write('xxxx', at + 28, 'latin1')
    let sum = 0
    for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += b[at + i]!
    b.writeUInt32BE(~sum >>> 0, at + 64)
    writeFileSync(image, b)
    expect(errorOf(() => [...openDisk(image).allocated()])).toBeUndefined()
    const growing = await follow(image).catch((e: unknown) => e)
    expect(growing).toBeInstanceOf(DiskFormatError)
    expect(growing).toMatchObject({ offset: at, problem: expect.stringMatching(/differs from its copy at byte 0/) })
  })
})

function errorOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

describe('alignedWindows', () => {
  it('gives the windows alignExtents then windows() give, for extents of any shape', async () => {
    let seed = 7
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const block = 64 * 1024
    const win = 1024 * 1024
    for (let round = 0; round < 200; round++) {
      const size = (1 + rand(40)) * 100_000 + rand(1000)
      const extents: Extent[] = []
      for (let at = rand(3) * 1000; at < size; ) {
        const length = Math.min(size - at, 1 + rand(rand(2) ? 4000 : 3 * win))
        extents.push({ offset: at, length })
        at += length + (rand(3) === 0 ? 0 : rand(rand(2) ? 100 : 2 * win))
      }
      async function* src(): AsyncGenerator<Extent> {
        yield* extents
      }
      const got: Extent[] = []
      for await (const w of alignedWindows(src(), block, size, win)) got.push(w)
      const want: Extent[] = []
      for await (const w of windowsOf(alignExtents(src(), block, size), win)) want.push(w)
      expect(got, `round ${round}`).toEqual(want)
    }
  })

  it('gives a window as soon as the extents have passed it, not when their run ends', async () => {
    const block = 64 * 1024
    const win = 1024 * 1024
    const seen: Extent[] = []
    let passed = 0
    async function* src(): AsyncGenerator<Extent> {
      for (let at = 0; at < 4 * win; at += block) {
        passed = at
        yield { offset: at, length: block }
      }
    }
    for await (const w of alignedWindows(src(), block, 8 * win, win)) {
      seen.push(w)
      expect(passed).toBeLessThan(w.offset + w.length + 2 * block)
    }
    expect(seen).toEqual([0, 1, 2, 3].map((i) => ({ offset: i * win, length: win })))
  })
})

/** windows() of data-map.ts, with a smaller window for the test. */
async function* windowsOf(extents: AsyncIterable<Extent>, win: number): AsyncGenerator<Extent> {
  for await (const e of extents) {
    for (let pos = e.offset; pos < e.offset + e.length; ) {
      const end = Math.min(e.offset + e.length, (Math.floor(pos / win) + 1) * win)
      yield { offset: pos, length: end - pos }
      pos = end
    }
  }
}
