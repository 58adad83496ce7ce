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
}

/** Reads [offset, offset+length) in `buf`-sized pieces and returns its runs of non-zero `zeros.length` blocks. */
export function mapWindow(io: WindowIo, fd: number, offset: number, length: number, buf: Buffer, zeros: Buffer): WindowResult {
  const regions: number[] = []
  let runEnd = -1
  let dataBytes = 0
  let bytesRead = 0
  for (let pos = offset; pos < offset + length; ) {
    const got = io.readSync(fd, buf, 0, Math.min(buf.length, offset + length - pos), pos)
    if (got === 0) break
    bytesRead += got
    for (let i = 0; i < got; i += zeros.length) {
      const n = Math.min(zeros.length, got - i)
      if (buf.subarray(i, i + n).equals(n === zeros.length ? zeros : zeros.subarray(0, n))) continue
      if (runEnd === pos + i) regions[regions.length - 1]! += n
      else regions.push(pos + i, n)
      runEnd = pos + i + n
      dataBytes += n
    }
    pos += got
  }
  return { regions, dataBytes, bytesRead }
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
export type Job = { id: number; kind: 'map' | 'hash'; offset: number; length: number; pieces?: Piece[] }

/**
 * The worker's loop: open the image once, then answer jobs with mapWindow's or
 * hashRegion's result. `require`, not `import()`: the test runner rewrites dynamic
 * imports in the source it serves, and the worker runs as a script (map-pool.ts gives
 * it no execArgv, so not even `--input-type=module` turns it into a module).
 */
export function workerMain(map: typeof mapWindow, hash: typeof hashRegion, read: typeof readPieces, slice: typeof slicePieces, ioOf: typeof pieceIoOf, block: number, readSize: number): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const fs = require('node:fs') as typeof import('node:fs')
  const crypto = require('node:crypto') as typeof import('node:crypto')
  const fd = fs.openSync((workerData as { path: string }).path, 'r')
  const buf = Buffer.allocUnsafe(readSize)
  const zeros = Buffer.alloc(block)
  const zlib = require('node:zlib') as typeof import('node:zlib')
  const raw = { readSync: fs.readSync, createHash: (a: 'sha256') => crypto.createHash(a) }
  const pieceIo = ioOf(fs, zlib)
  parentPort!.on('message', (job: Job) => {
    try {
      // A container image: the window's virtual bytes are assembled from its pieces.
      const pieces = job.pieces
      const io =
        pieces === undefined
          ? raw
          : {
              ...raw,
              readSync: (f: number, b: Buffer, o: number, n: number, pos: number): number => {
                const len = Math.min(n, job.offset + job.length - pos)
                read(pieceIo, f, slice(pieces, job.offset, pos, len), b.subarray(o, o + len))
                return len
              },
            }
      const result = job.kind === 'map' ? map(io, fd, job.offset, job.length, buf, zeros) : { digest: hash(io, fd, job.offset, job.length, buf) }
      parentPort!.postMessage({ id: job.id, result })
    } catch (e) {
      parentPort!.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) })
    }
  })
}

export const workerSource = (block: number, readSize: number): string =>
  // esbuild (tsx, vitest) may wrap functions in a __name(fn, "name") helper that exists
  // only in the module they came from; the eval'd source gets a stand-in.
  `var __name = (f) => f;\n(${workerMain.toString()})(${mapWindow.toString()}, ${hashRegion.toString()}, ${readPieces.toString()}, ${slicePieces.toString()}, ${pieceIoOf.toString()}, ${block}, ${readSize})`
