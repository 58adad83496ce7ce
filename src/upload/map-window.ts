/**
 * The mapping work for one window of the image, run inside worker threads (map-pool.ts).
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
  /** sha256 of each region, 32 bytes each. */
  hashes: Buffer
  dataBytes: number
  bytesRead: number
}

/** Reads [offset, offset+length) in `buf`-sized pieces; keeps and hashes each run of non-zero `block`s. */
export function mapWindow(io: WindowIo, fd: number, offset: number, length: number, buf: Buffer, zeros: Buffer): WindowResult {
  const regions: number[] = []
  const digests: Buffer[] = []
  let hash: ReturnType<WindowIo['createHash']> | undefined
  let runEnd = -1
  let dataBytes = 0
  let bytesRead = 0
  const close = (): void => {
    if (hash) digests.push(hash.digest())
    hash = undefined
  }
  for (let pos = offset; pos < offset + length; ) {
    const got = io.readSync(fd, buf, 0, Math.min(buf.length, offset + length - pos), pos)
    if (got === 0) break
    bytesRead += got
    for (let i = 0; i < got; i += zeros.length) {
      const n = Math.min(zeros.length, got - i)
      const block = buf.subarray(i, i + n)
      if (block.equals(n === zeros.length ? zeros : zeros.subarray(0, n))) continue
      if (!hash || runEnd !== pos + i) {
        close()
        regions.push(pos + i, 0)
        hash = io.createHash('sha256')
      }
      hash.update(block)
      regions[regions.length - 1]! += n
      runEnd = pos + i + n
      dataBytes += n
    }
    pos += got
  }
  close()
  return { regions, hashes: Buffer.concat(digests), dataBytes, bytesRead }
}

/** The worker's loop: open the image once, then answer { id, offset, length } jobs with mapWindow's result. */
export function workerMain(map: typeof mapWindow, block: number, readSize: number): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const fs = require('node:fs') as typeof import('node:fs')
  const crypto = require('node:crypto') as typeof import('node:crypto')
  const fd = fs.openSync((workerData as { path: string }).path, 'r')
  const buf = Buffer.allocUnsafe(readSize)
  const zeros = Buffer.alloc(block)
  const io = { readSync: fs.readSync, createHash: (a: 'sha256') => crypto.createHash(a) }
  parentPort!.on('message', (job: { id: number; offset: number; length: number }) => {
    try {
      parentPort!.postMessage({ id: job.id, ...map(io, fd, job.offset, job.length, buf, zeros) })
    } catch (e) {
      parentPort!.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) })
    }
  })
}

export const workerSource = (block: number, readSize: number): string => `(${workerMain.toString()})(${mapWindow.toString()}, ${block}, ${readSize})`
