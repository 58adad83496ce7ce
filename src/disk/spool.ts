import { spawn, spawnSync } from 'node:child_process'
import { closeSync, createReadStream, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs'
import { stat, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { isZero } from '../image/zero.js'
import { UserError } from '../errors.js'
import { detect, type Compression } from './detect.js'
import { registerSpool, removeStaleSpools, spooledFile } from './spool-registry.js'
import { MAX_VIRTUAL_SIZE } from './virtual-disk.js'

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
  await checkFree(dir, total, path)
  const spool = join(dir, `xcp-provision-${process.pid}-${Date.now()}-${basename(path)}.spool`)
  const out = openSync(spool, 'wx', 0o600)
  let expanded = 0
  const runs = new BlockRuns()
  try {
    const source = createReadStream(path, { highWaterMark: 1024 * 1024 })
    let read = 0
    source.on('data', (c: Buffer | string) => (read += c.length))
    const stream = d.compression === 'xz' ? xzStream(path, source) : source.pipe(createGunzip())
    const limit = declared ?? MAX_VIRTUAL_SIZE + 16 * 1024 * 1024
    const carry = Buffer.alloc(BLOCK)
    let carried = 0
    let nextCheck = CHECK_EVERY
    const flush = (block: Buffer, at: number): void => {
      if (isZero(block)) return
      writeSync(out, block, 0, block.length, at)
      runs.add(at, block.length)
    }
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let i = 0
      // Blocks are cut at multiples of BLOCK of the output, wherever the chunks end.
      while (i < chunk.length) {
        // Whole blocks are checked where they lie (xz's pipe gives 64 KiB chunks): a copy
        // of every byte of a 16 GiB stream costs seconds.
        if (carried === 0 && chunk.length - i >= BLOCK) {
          flush(chunk.subarray(i, i + BLOCK), expanded)
          expanded += BLOCK
          i += BLOCK
          continue
        }
        const take = Math.min(BLOCK - carried, chunk.length - i)
        chunk.copy(carry, carried, i, i + take)
        carried += take
        i += take
        if (carried === BLOCK) {
          flush(carry, expanded)
          expanded += BLOCK
          carried = 0
        }
      }
      if (expanded + carried > limit) {
        throw new UserError({
          code: 'image-unreadable',
          what: `Cannot decompress ${path}`,
          why: `it expands beyond ${declared !== undefined ? `the size its xz index declares (${declared} bytes)` : `${limit} bytes`}: a corrupt or malicious file`,
          fix: 'download it again and check its published sha256',
        })
      }
      if (expanded >= nextCheck) {
        nextCheck += CHECK_EVERY
        await checkFree(dir, 0, path)
      }
      const p = { read, total, written: expanded + carried }
      onProgress?.(p)
      for (const w of watchers) w(path, p)
    }
    if (carried) flush(carry.subarray(0, carried), expanded)
    expanded += carried
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
  spoolRuns.set(spool, runs.list)
  return { file: spool, compression: d.compression, expanded }
}

/**
 * xz decoding by the system's xz (liblzma, C, multi-threaded where the file has blocks):
 * as fast as the reference, bounded memory, no native addon to build (docs/formats.md).
 */
function xzStream(path: string, source: Readable): Readable {
  const child = spawn('xz', ['-dc', '-T0', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString().slice(0, 2000)))
  source.pipe(child.stdin)
  child.stdin.on('error', () => undefined) // xz exiting early: reported by its exit status below
  const out = child.stdout
  const failed = new Promise<Error | undefined>((resolve) => {
    child.once('error', (e) => resolve(noXz(e)))
    child.once('close', (code) =>
      resolve(
        code === 0
          ? undefined
          : new UserError({
              code: 'image-unreadable',
              what: `Cannot decompress ${path}`,
              why: `xz -dc failed (exit ${code}): ${stderr.trim() || 'no message'}`,
              fix: 'the file is truncated or damaged: download it again and check its published sha256',
            }),
      ),
    )
  })
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      for await (const c of out as AsyncIterable<Buffer>) yield c
      const e = await failed
      if (e) throw e
    } finally {
      if (child.exitCode === null) child.kill()
      source.destroy()
    }
  }
  return Readable.from(guarded(), { objectMode: false })
}

function noXz(e: NodeJS.ErrnoException): Error {
  if (e.code === 'ENOENT')
    return new UserError({
      what: 'Cannot decompress an xz image',
      why: 'the xz command is not installed',
      fix: 'install it (Debian/Ubuntu: apt-get install xz-utils; macOS: brew install xz), or decompress the image yourself: xz -dk <file>',
    })
  return e
}

/** The uncompressed size from the xz index (xz --robot --list), read without decompressing. */
function xzDeclaredSize(path: string): number | undefined {
  const r = spawnSync('xz', ['--robot', '--list', path], { encoding: 'utf8' })
  if (r.error) throw noXz(r.error as NodeJS.ErrnoException)
  if (r.status !== 0)
    throw new UserError({
      code: 'image-unreadable',
      what: `Cannot read ${path}`,
      why: `xz --list: ${r.stderr.trim()}`,
      fix: 'the file is truncated or damaged: download it again and check its published sha256',
    })
  const totals = r.stdout.split('\n').find((l) => l.startsWith('totals\t'))
  const size = Number(totals?.split('\t')[4])
  return Number.isSafeInteger(size) ? size : undefined
}

async function checkFree(dir: string, need: number, path: string): Promise<void> {
  const s = await statfs(dir).catch(() => undefined)
  if (!s) return
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
