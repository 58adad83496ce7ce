import { closeSync, ftruncateSync, openSync, readSync, statfsSync, unlinkSync, type StatsFs } from 'node:fs'
import { stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { EXIT, UserError } from '../errors.js'
import { detect, refusedInside, type Compression } from './detect.js'
import { spoolGzip } from './spool-gzip.js'
import type { SpoolContext } from './spool-job.js'
import { registerSpool, removeStaleSpools, spooledFile, whileWriting } from './spool-registry.js'
import { spoolXz } from './spool-xz.js'
import { MAX_VIRTUAL_SIZE } from './virtual-disk.js'
import { xzDeclaredSize } from './xz-tool.js'
import { openGrowing, type GrowingContainer } from './growing-disk.js'
import { dynamicVhdHead } from './vhd.js'

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
  /** Set when the spool is still being written (the `stream` option). */
  growing?: SpoolGrowth
}

/** Where each spool of this process holds data: its non-zero BLOCKs, as [offset, length] runs. */
const spoolRuns = new Map<string, readonly number[]>()

/**
 * The runs of non-zero 64 KiB blocks of a spool, found as it was written: the map of a
 * raw image needs nothing else (data-map.ts), so a raw.xz is not read a second time.
 * Undefined for a file that is not a spool of this process, or one whose writer could
 * not map it (spool-xz.ts without python3 or SEEK_DATA).
 */
export const spoolDataRuns = (spool: string): readonly number[] | undefined => spoolRuns.get(spool)

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
 * An xz spool that is still being written (`prepareImage(…, { stream: true })`): the
 * upload sends each segment once decompression has passed it, instead of after the whole
 * image (docs/upload.md, "Published formats"). Below `written()` the spool and its runs are
 * final, but for the last run, which the next block may extend.
 */
export interface SpoolGrowth {
  spool: string
  /** The virtual disk's size: what the xz index declares, checked at the end. */
  size: number
  /** Below this offset the spool and `runs` are final (xz writes sequentially; spool-follower.ts). */
  written(): number
  /** True once the spool is whole (its runs final, its size checked). */
  complete(): boolean
  /** The non-zero blocks found so far, ascending [offset, length] runs (a live array). */
  readonly runs: readonly number[]
  /** Resolves at the next stretch mapped (every 0.1 s), or the end; rejects with the decompression's error. */
  next(): Promise<void>
  /** Resolves when the spool is complete (and registered); rejects with what stopped it. */
  readonly done: Promise<void>
  /** Stops the decompression (the run failed before it needed the image); `done` then rejects. */
  abort(): void
  /**
   * A qcow2 or VMDK being decompressed, read while it grows (growing-disk.ts): `size` is
   * then its virtual disk's, `written()` the spool's frontier in file bytes, and `runs`
   * stay empty (its tables and clusters are its map: data-map.ts).
   */
  container?: GrowingContainer
}

/** Growing spools, by the compressed image's absolute path; each leaves when complete or failed. */
const growths = new Map<string, SpoolGrowth>()
export const spoolGrowth = (image: string): SpoolGrowth | undefined => growths.get(resolve(image))

/**
 * Makes an image openable by openDisk: a compressed one (xz, gzip) is decompressed once
 * per process into a sparse temporary file in $TMPDIR (only non-zero data is written: a
 * 16 GiB raw.xz holding 1 GiB takes 1 GiB), removed when the process exits. xz writes
 * the spool itself (spool-xz.ts); gzip's stream goes through Node (spool-gzip.ts).
 * Spooling is needed because qcow2, VHD and VMDK tables may point anywhere in the file,
 * and because segments, resume and --verify read the image more than once.
 *
 * `stream`: a raw disk in xz whose index declares its size (and whose size is a multiple
 * of 64 KiB, which a fixed VHD's is not) is returned as soon as its first block is known,
 * with `growing` (spoolGrowth) to follow it; openDisk finds it only once complete. A qcow2,
 * a VMDK or a dynamic VHD (by its footer copy at byte 0; a fixed VHD is spooled whole) in
 * xz is returned once its header and tables are written, with `growing.container`
 * (growing-disk.ts), which openDisk reads through the spool's frontier. gzip declares no
 * size that can be trusted (ISIZE is modulo 4 GiB), so a gzip image is spooled whole.
 */
export async function prepareImage(path: string, onProgress?: (p: SpoolProgress) => void, opts: { stream?: boolean; signal?: AbortSignal } = {}): Promise<PreparedImage> {
  if (opts.signal?.aborted) throw interrupted(path)
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(512)
  const n = readSync(fd, head, 0, 512, 0)
  closeSync(fd)
  const d = detect(head.subarray(0, n))
  if (d.kind !== 'compressed') return { file: path, compression: null }
  const done = spooledFile(path)
  if (done) return { file: done, compression: d.compression, expanded: (await stat(done)).size }
  const already = spoolGrowth(path)
  if (already) {
    if (!opts.stream) await already.done
    return opts.stream ? { file: already.spool, compression: d.compression, expanded: already.size, growing: already } : prepareImage(path, onProgress)
  }
  const total = (await stat(path)).size
  const declared = d.compression === 'xz' ? xzDeclaredSize(path) : undefined
  if (declared !== undefined && declared > MAX_VIRTUAL_SIZE)
    throw new UserError({
      code: 'image-unreadable',
      what: `Cannot decompress ${path}`,
      why: `its xz index declares ${declared} bytes, more than the ${MAX_VIRTUAL_SIZE / 2 ** 40} TiB a disk can be: a corrupt or malicious file`,
      fix: 'download it again and check its published sha256',
    })
  const dir = tmpdir()
  // Before the free-space check: what killed runs left counts against it.
  removeStaleSpools(dir)
  checkFree(dir, total, path)
  const spool = join(dir, `xcp-provision-${process.pid}-${Date.now()}-${basename(path)}.spool`)
  // Not in append mode: xz seeks over zeros only in a file it can seek in.
  const out = openSync(spool, 'wx', 0o600)
  const streamable = opts.stream === true && declared !== undefined && declared > 0 && declared % BLOCK === 0
  const wake = new Wakeups()
  let nextFree = CHECK_EVERY
  const ctx: SpoolContext = {
    path,
    spool,
    out,
    limit: declared ?? MAX_VIRTUAL_SIZE + 16 * 1024 * 1024,
    declared,
    progress: (read, written) => {
      if (written >= nextFree) {
        nextFree = written + CHECK_EVERY
        checkFree(dir, 0, path)
      }
      const p = { read, total, written }
      onProgress?.(p)
      for (const w of watchers) w(path, p)
    },
    step: () => wake.fire(),
  }
  const job = d.compression === 'xz' ? spoolXz(ctx) : spoolGzip(ctx)
  // A process exiting meanwhile (a second Ctrl-C) stops the writer and removes the spool.
  const untrack = whileWriting(spool, () => job.abort(new Error('exiting')))
  // The first Ctrl-C: decompressing a big image takes minutes, and nothing has been created yet to roll back.
  const onAbort = (): void => job.abort(interrupted(path))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const run = (async (): Promise<number> => {
    let expanded: number
    try {
      expanded = await job.done
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
    } finally {
      untrack()
      opts.signal?.removeEventListener('abort', onAbort)
    }
    closeSync(out)
    for (const w of watchers) w(path, { read: total, total, written: expanded })
    registerSpool(path, spool)
    const runs = job.runs()
    if (runs) spoolRuns.set(spool, runs)
    return expanded
  })()
  let complete = false
  const finished = run.then(
    () => {
      complete = true
      wake.fire(true)
    },
    (e: unknown) => {
      wake.fail(e)
      throw e
    },
  )
  finished.catch(() => undefined) // awaited by whoever follows it; a run that stopped first aborted it
  if (job.unfollow) {
    // The first block says what the disk is: a container or a VHD needs the whole file, and its tables are its map.
    await Promise.race([wake.next(), finished])
    // Unfollowed (no python3), the first step may be a few bytes: detection needs a sector.
    while (!complete && job.mark() < 512) await Promise.race([wake.next(), finished])
    const runs = job.runs()
    if (!complete) {
      const first = Buffer.alloc(512)
      const rd = openSync(spool, 'r')
      readSync(rd, first, 0, 512, 0)
      closeSync(rd)
      const kind = detect(first)
      // Refused content (a tar, a zip, a VirtualBox disk… in xz) is known from its first block: no need to decompress the rest.
      if (kind.kind === 'refused') {
        const e = refusedInside(path, kind)
        job.abort(e)
        await finished.catch(() => undefined)
        throw e
      }
      // Below this the spool is final: the follower's mark, or xz's size; all of it once whole (only streamed when its size is declared).
      const written = (): number => (complete ? (declared ?? job.mark()) : job.mark())
      const growth = (size: number, runs: readonly number[], container?: GrowingContainer): SpoolGrowth => {
        const g: SpoolGrowth = {
          spool,
          size,
          written,
          complete: () => complete,
          runs,
          next: () => wake.next(),
          done: finished.finally(() => growths.delete(resolve(path))),
          abort: () => job.abort(new Error(`the decompression of ${path} was stopped`)),
          ...(container ? { container } : {}),
        }
        g.done.catch(() => undefined)
        growths.set(resolve(path), g)
        return g
      }
      if ((kind.kind === 'container' || dynamicVhdHead(first)) && opts.stream === true && declared !== undefined && declared > 0) {
        // A qcow2, VMDK or dynamic VHD (footer copy at byte 0): read while xz writes it, its tables trusted only below the frontier.
        job.unfollow()
        let container: GrowingContainer
        try {
          container = await openGrowing({ spool, fileSize: declared, written, next: () => wake.next() }, finished)
        } catch (e) {
          job.abort(e)
          await finished.catch(() => undefined)
          throw e
        }
        return { file: spool, compression: d.compression, expanded: declared, growing: growth(container.size, [], container) }
      }
      // A fixed VHD has its only footer at the end (a dynamic one whose copy at byte 0 is damaged too): spooled whole.
      if (kind.kind !== 'plain' || first.toString('latin1', 0, 8) === 'conectix') job.unfollow()
      else if (streamable && runs) return { file: spool, compression: d.compression, expanded: declared, growing: growth(declared, runs) }
    }
  }
  const expanded = await run
  return { file: spool, compression: d.compression, expanded }
}

/** Promises that settle at the next step of a growing spool, all at once. */
class Wakeups {
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = []
  private failure: { e: unknown } | undefined
  private over = false
  next(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.e)
    if (this.over) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }
  fire(end = false): void {
    if (end) this.over = true
    for (const w of this.waiting.splice(0)) w.resolve()
  }
  fail(e: unknown): void {
    this.failure = { e }
    for (const w of this.waiting.splice(0)) w.reject(e)
  }
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

/** Stopped by a signal while decompressing: nothing was created, the spool is gone. */
function interrupted(path: string): UserError {
  return new UserError({ what: 'Interrupted', why: `stopped by a signal while decompressing ${path}; nothing was created`, fix: 'run the same command again when ready', exitCode: EXIT.interrupted })
}
