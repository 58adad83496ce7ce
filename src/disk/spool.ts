import { closeSync, createReadStream, ftruncateSync, openSync, readSync, statfsSync, unlinkSync, writeSync, type StatsFs } from 'node:fs'
import { stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { isZero } from '../image/zero.js'
import { UserError } from '../errors.js'
import { detect, type Compression } from './detect.js'
import { registerSpool, removeStaleSpools, spooledFile } from './spool-registry.js'
import { MAX_VIRTUAL_SIZE } from './virtual-disk.js'
import { xzDecompress, xzDeclaredSize } from './xz-pipe.js'

/** Zero detection grid of the spool: all-zero blocks are skipped, so the spool stays sparse. */
export const SPOOL_BLOCK = 64 * 1024
const BLOCK = SPOOL_BLOCK
/** The free space the spool must leave on its file system while it grows. */
const KEEP_FREE = 256 * 1024 * 1024
const CHECK_EVERY = 64 * 1024 * 1024

export interface SpoolProgress {
  /** Compressed bytes read so far, of `total`. */
  read: number
  total: number
  /** Decompressed bytes, of which only the non-zero blocks were written. */
  written: number
}

export interface PreparedImage {
  /** The file to open (the image itself, or its spool). */
  file: string
  compression: Compression | null
  /** Decompressed bytes (for a compressed image). */
  expanded?: number
}

/** Where each spool of this process holds data: its non-zero BLOCKs, as [offset, length] runs. */
const spoolRuns = new Map<string, number[]>()

/**
 * The runs of non-zero 64 KiB blocks of a spool, found as it was written: the map of a
 * raw image needs nothing else (data-map.ts), so a raw.xz is not read a second time.
 * Undefined for a file that is not a spool of this process.
 */
export const spoolDataRuns = (spool: string): readonly number[] | undefined => spoolRuns.get(spool)

/** Appends blocks in ascending order, merging those that touch. */
class BlockRuns {
  readonly list: number[] = []
  add(at: number, length: number): void {
    const n = this.list.length
    if (n > 0 && this.list[n - 2]! + this.list[n - 1]! === at) this.list[n - 1]! += length
    else this.list.push(at, length)
  }
}

/**
 * Writes a decompressed stream into the sparse spool, 64 KiB block by block: all-zero
 * blocks are skipped (the spool stays sparse, and the runs written are the data map).
 * Blocks are cut at multiples of BLOCK of the output, wherever the chunks end.
 */
class SpoolWriter {
  expanded = 0
  private readonly runs = new BlockRuns()
  private readonly carry = Buffer.alloc(BLOCK)
  private carried = 0
  constructor(
    private readonly fd: number,
    /** After each chunk, with the bytes decompressed so far; may throw to stop. */
    private readonly progress: (written: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let i = 0
    while (i < chunk.length) {
      // Whole blocks are checked where they lie: a copy of every byte of a 16 GiB stream costs seconds.
      if (this.carried === 0 && chunk.length - i >= BLOCK) {
        this.flush(chunk.subarray(i, i + BLOCK))
        i += BLOCK
        continue
      }
      const take = Math.min(BLOCK - this.carried, chunk.length - i)
      chunk.copy(this.carry, this.carried, i, i + take)
      this.carried += take
      i += take
      if (this.carried === BLOCK) {
        this.flush(this.carry)
        this.carried = 0
      }
    }
    this.progress(this.expanded + this.carried)
  }

  /** The decompressed size and the runs of non-zero blocks written. */
  end(): { expanded: number; runs: number[] } {
    if (this.carried) this.flush(this.carry.subarray(0, this.carried))
    this.carried = 0
    return { expanded: this.expanded, runs: this.runs.list }
  }

  private flush(block: Buffer): void {
    if (!isZero(block)) {
      writeSync(this.fd, block, 0, block.length, this.expanded)
      this.runs.add(this.expanded, block.length)
    }
    this.expanded += block.length
  }
}

/** Everyone who wants to see spools grow (the CLI's progress line), whichever command opened the image. */
const watchers = new Set<(file: string, p: SpoolProgress) => void>()

/**
 * Calls `fn` as any compressed image is decompressed in this process, with the image's
 * path; returns the unsubscribe. The images are opened deep inside commands (preflight,
 * check-image, the data map), so the CLI listens here rather than through each of them.
 */
export function watchSpools(fn: (file: string, p: SpoolProgress) => void): () => void {
  watchers.add(fn)
  return () => watchers.delete(fn)
}

/**
 * Makes an image openable by openDisk: a compressed one (xz, gzip) is decompressed once
 * per process into a sparse temporary file in $TMPDIR (only non-zero 64 KiB blocks are
 * written: a 16 GiB raw.xz holding 1 GiB takes 1 GiB), removed when the process exits.
 * Spooling is needed because qcow2, VHD and VMDK tables may point anywhere in the file,
 * and because segments, resume and --verify read the image more than once.
 */
export async function prepareImage(path: string, onProgress?: (p: SpoolProgress) => void): Promise<PreparedImage> {
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(512)
  const n = readSync(fd, head, 0, 512, 0)
  closeSync(fd)
  const d = detect(head.subarray(0, n))
  if (d.kind !== 'compressed') return { file: path, compression: null }
  const done = spooledFile(path)
  if (done) return { file: done, compression: d.compression, expanded: (await stat(done)).size }
  const total = (await stat(path)).size
  const declared = d.compression === 'xz' ? xzDeclaredSize(path) : undefined
  const dir = tmpdir()
  // Before the free-space check: what killed runs left counts against it.
  removeStaleSpools(dir)
  checkFree(dir, total, path)
  const spool = join(dir, `xcp-provision-${process.pid}-${Date.now()}-${basename(path)}.spool`)
  const out = openSync(spool, 'wx', 0o600)
  let expanded: number
  let runs: number[]
  try {
    const source = createReadStream(path, { highWaterMark: 1024 * 1024 })
    let read = 0
    source.on('data', (c: Buffer | string) => (read += c.length))
    const limit = declared ?? MAX_VIRTUAL_SIZE + 16 * 1024 * 1024
    const writer = new SpoolWriter(out, (written) => {
      if (written > limit) {
        throw new UserError({
          code: 'image-unreadable',
          what: `Cannot decompress ${path}`,
          why: `it expands beyond ${declared !== undefined ? `the size its xz index declares (${declared} bytes)` : `${limit} bytes`}: a corrupt or malicious file`,
          fix: 'download it again and check its published sha256',
        })
      }
      const p = { read, total, written }
      onProgress?.(p)
      for (const w of watchers) w(path, p)
    })
    const checked = (chunk: Buffer): void => {
      writer.push(chunk)
      if (writer.expanded >= nextCheck) {
        nextCheck += CHECK_EVERY
        checkFree(dir, 0, path)
      }
    }
    let nextCheck = CHECK_EVERY
    if (d.compression === 'xz') await xzDecompress(path, source, checked)
    else for await (const chunk of source.pipe(createGunzip()) as AsyncIterable<Buffer>) checked(chunk)
    ;({ expanded, runs } = writer.end())
    if (declared !== undefined && expanded !== declared)
      throw new UserError({
        code: 'image-unreadable',
        what: `Cannot decompress ${path}`,
        why: `it expanded to ${expanded} bytes; its xz index declares ${declared}`,
        fix: 'download it again and check its published sha256',
      })
    ftruncateSync(out, expanded)
  } catch (e) {
    closeSync(out)
    unlinkSync(spool)
    throw e
  }
  closeSync(out)
  for (const w of watchers) w(path, { read: total, total, written: expanded })
  registerSpool(path, spool)
  spoolRuns.set(spool, runs)
  return { file: spool, compression: d.compression, expanded }
}

/** Synchronous: it also runs between two reads of xz's output (xz-pipe.ts hands them over synchronously). */
function checkFree(dir: string, need: number, path: string): void {
  let s: StatsFs
  try {
    s = statfsSync(dir)
  } catch {
    return
  }
  const free = s.bavail * s.bsize
  if (free < need + KEEP_FREE) {
    throw new UserError({
      code: 'no-space',
      what: `Not enough free space to decompress ${path}`,
      why: `${dir} has ${free} bytes free; the sparse spool needs up to the image's data plus ${KEEP_FREE} bytes kept free`,
      fix: 'set TMPDIR to a file system with more room, or decompress the image yourself where there is room',
    })
  }
}
