import { pieceIoOf } from '../../disk/piece-io.js'
import { readPieces, slicePieces } from '../../disk/read-pieces.js'
import type { Piece } from '../../disk/virtual-disk.js'

/**
 * The work on the image's bytes, run inside worker threads (map-pool.ts): finding the
 * non-zero blocks of one window, and hashing one region.
 *
 * A window never crosses a MAX_REGION-aligned boundary, and regions are cut at those
 * boundaries, so windows are independent: they are mapped in parallel and their
 * results concatenated in order, giving the same map whatever the number of workers.
 *
 * The functions here travel to the workers as source text (Function.prototype.toString),
 * because a worker cannot load a TypeScript module when the tests run from source. So
 * they may use only their parameters and `require`: no imports, no outer names.
 */

export interface WindowIo {
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number
  createHash(alg: 'sha256'): { update(b: Buffer): unknown; digest(): Buffer }
}

export interface WindowResult {
  /** [offset, length] pairs of the window's regions (runs of non-zero blocks). */
  regions: number[]
  dataBytes: number
  bytesRead: number
  /** With `hashing`: the sha256 of each region, 32 bytes each in region order (hashRegion's values). */
  digests?: Uint8Array
}

/**
 * Reads [offset, offset+length) in `buf`-sized pieces and returns its runs of non-zero
 * `zeros.length` blocks. With `hashing`, also each run's sha256, from the bytes already
 * read: the identity's hashes then cost no second read of the data (region-hashes.ts).
 */
export function mapWindow(io: WindowIo, fd: number, offset: number, length: number, buf: Buffer, zeros: Buffer, hashing = false): WindowResult {
  const regions: number[] = []
  const digests: Buffer[] = []
  // The hash of the run in progress; `from`: where its bytes start in the current buffer.
  let h: ReturnType<WindowIo['createHash']> | undefined
  let runEnd = -1
  let dataBytes = 0
  let bytesRead = 0
  for (let pos = offset; pos < offset + length; ) {
    const got = io.readSync(fd, buf, 0, Math.min(buf.length, offset + length - pos), pos)
    if (got === 0) break
    bytesRead += got
    let from = -1
    for (let i = 0; i < got; i += zeros.length) {
      const n = Math.min(zeros.length, got - i)
      if (buf.subarray(i, i + n).equals(n === zeros.length ? zeros : zeros.subarray(0, n))) {
        if (h) {
          if (from >= 0) h.update(buf.subarray(from, i))
          digests.push(h.digest())
          h = undefined
          from = -1
        }
        continue
      }
      if (runEnd === pos + i) regions[regions.length - 1]! += n
      else {
        regions.push(pos + i, n)
        if (hashing) h = io.createHash('sha256')
      }
      if (h && from < 0) from = i
      runEnd = pos + i + n
      dataBytes += n
    }
    if (h && from >= 0) h.update(buf.subarray(from, got))
    pos += got
  }
  if (h) digests.push(h.digest())
  return { regions, dataBytes, bytesRead, ...(hashing ? { digests: Buffer.concat(digests) } : {}) }
}

/** sha256 of exactly [offset, offset+length); a short read means the image shrank. */
export function hashRegion(io: WindowIo, fd: number, offset: number, length: number, buf: Buffer): Buffer {
  const h = io.createHash('sha256')
  for (let pos = offset; pos < offset + length; ) {
    const got = io.readSync(fd, buf, 0, Math.min(buf.length, offset + length - pos), pos)
    if (got === 0) throw new Error(`the image shrank while it was being hashed (short read at byte ${pos})`)
    h.update(buf.subarray(0, got))
    pos += got
  }
  return h.digest()
}

/** pieces: where a container image's window comes from (src/disk); absent for a raw image, read in place. */
export type Job = { id: number; kind: 'map' | 'hash'; offset: number; length: number; pieces?: Piece[]; hashing?: boolean }

/** What runJob needs of Node: passed in, because the same code runs in workers as source text. */
export interface JobModules {
  fs: typeof import('node:fs')
  crypto: typeof import('node:crypto')
  zlib: typeof import('node:zlib')
}

/** The functions a job runs, passed in for the same reason. */
export interface JobFunctions {
  map: typeof mapWindow
  hash: typeof hashRegion
  read: typeof readPieces
  slice: typeof slicePieces
  ioOf: typeof pieceIoOf
}

export interface JobRunner {
  run(job: Job): WindowResult | { digest: Uint8Array }
  close(): void
}

/**
 * Opens the image once and answers jobs with mapWindow's or hashRegion's result, in a
 * worker (workerMain) or on the main thread for a small image (map-pool.ts): one code
 * path, so both give the same map and the same hashes.
 */
export function jobRunner(m: JobModules, f: JobFunctions, path: string, block: number, readSize: number): JobRunner {
  const fd = m.fs.openSync(path, 'r')
  const buf = Buffer.allocUnsafe(readSize)
  const zeros = Buffer.alloc(block)
  const raw = { readSync: m.fs.readSync, createHash: (a: 'sha256') => m.crypto.createHash(a) }
  const pieceIo = f.ioOf(m.fs, m.zlib)
  return {
    run(job) {
      // A container image: the window's virtual bytes are assembled from its pieces.
      const pieces = job.pieces
      const io =
        pieces === undefined
          ? raw
          : {
              ...raw,
              readSync: (fh: number, b: Buffer, o: number, n: number, pos: number): number => {
                const len = Math.min(n, job.offset + job.length - pos)
                f.read(pieceIo, fh, f.slice(pieces, job.offset, pos, len), b.subarray(o, o + len))
                return len
              },
            }
      return job.kind === 'map' ? f.map(io, fd, job.offset, job.length, buf, zeros, job.hashing) : { digest: f.hash(io, fd, job.offset, job.length, buf) }
    },
    close: () => m.fs.closeSync(fd),
  }
}

/**
 * The worker's loop around jobRunner. `require`, not `import()`: the test runner
 * rewrites dynamic imports in the source it serves, and the worker runs as a script
 * (map-pool.ts gives it no execArgv, so not even `--input-type=module` turns it into a
 * module).
 */
export function workerMain(runner: typeof jobRunner, f: JobFunctions, block: number, readSize: number): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const m = { fs: require('node:fs'), crypto: require('node:crypto'), zlib: require('node:zlib') } as JobModules
  const { path, nice } = workerData as { path: string; nice: number }
  // Linux gives each thread its own niceness, so this slows only this worker; elsewhere
  // the call would lower the whole process (or fail), so it is not made. A thread may
  // lower its priority without privileges but never raise it again: a niced pool is
  // never reused for work the transfer waits on.
  if (nice > 0 && process.platform === 'linux') {
    try {
      const os = require('node:os') as typeof import('node:os')
      // At least `nice`, never above what the process already runs at (a niced test run, a niced fleet job).
      os.setPriority(0, Math.max(os.getPriority(0), nice))
    } catch {
      // A sandbox refusing setpriority: the work is the same, only not yielded.
    }
  }
  const r = runner(m, f, path, block, readSize)
  parentPort!.on('message', (job: Job) => {
    try {
      parentPort!.postMessage({ id: job.id, result: r.run(job) })
    } catch (e) {
      parentPort!.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) })
    }
  })
}

export const workerSource = (block: number, readSize: number): string =>
  // esbuild (tsx, vitest) may wrap functions in a __name(fn, "name") helper that exists
  // only in the module they came from; the eval'd source gets a stand-in.
  `var __name = (f) => f;\n(${workerMain.toString()})(${jobRunner.toString()}, { map: ${mapWindow.toString()}, hash: ${hashRegion.toString()}, read: ${readPieces.toString()}, slice: ${slicePieces.toString()}, ioOf: ${pieceIoOf.toString()} }, ${block}, ${readSize})`

/** The same functions, for jobRunner on the main thread. */
export const jobFunctions: JobFunctions = { map: mapWindow, hash: hashRegion, read: readPieces, slice: slicePieces, ioOf: pieceIoOf }
