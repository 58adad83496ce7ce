import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import { Worker } from 'node:worker_threads'
import { openDisk } from '../disk/open-disk.js'
import { pieceIoOf } from '../disk/piece-io.js'
import { readPieces, slicePieces } from '../disk/read-pieces.js'
import { IN_THREAD_MAX } from '../upload/find/map-pool.js'
import type { DataMap } from '../upload/find/data-map.js'
import { HASH_SLICE, imageHasher, type HashRegion } from './image-hasher.js'

/** Progress: bytes of the virtual disk hashed, of `total`. */
export type HashProgress = (hashed: number, total: number) => void

/** How often a worker reports how far it is: 256 MiB is ~0.25 s of sha256. */
const REPORT_EVERY = 256 * 1024 * 1024
/** Regions handed to the worker per message, bounded by count and data: the pieces of a container are made per batch. */
const BATCH_REGIONS = 4096
const BATCH_BYTES = 256 * 1024 * 1024

type FromWorker = { progress: number } | { more: number } | { digest: string } | { error: string }

/**
 * The worker's loop around imageHasher: batches of regions in, progress and the digest out.
 * `require`, not `import()`, for map-window.ts's reason (it runs as a script from source text).
 */
function hashWorkerMain(hasher: typeof imageHasher, f: Parameters<typeof imageHasher>[1], slice: number, every: number): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const m = { fs: require('node:fs'), crypto: require('node:crypto'), zlib: require('node:zlib') } as Parameters<typeof imageHasher>[0]
  const { path, size } = workerData as { path: string; size: number }
  let s: ReturnType<typeof imageHasher> | undefined
  let reported = 0
  parentPort!.on('message', (msg: { regions: HashRegion[]; end: boolean }) => {
    try {
      s ??= hasher(m, f, path, size, slice)
      s.add(msg.regions)
      if (msg.end) s.end()
      while (s.step()) {
        if (s.pos - reported >= every) parentPort!.postMessage({ progress: (reported = s.pos) })
      }
      parentPort!.postMessage(msg.end ? { digest: s.digest() } : { more: s.pos })
    } catch (e) {
      s?.close()
      parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) })
    }
  })
}

const workerSource = (): string =>
  // esbuild may wrap functions in __name(fn, "name"), a helper only their own module has (map-window.ts).
  `var __name = (f) => f;\n(${hashWorkerMain.toString()})(${imageHasher.toString()}, { read: ${readPieces.toString()}, slice: ${slicePieces.toString()}, ioOf: ${pieceIoOf.toString()} }, ${HASH_SLICE}, ${REPORT_EVERY})`

/** The map's regions in batches, each region with its pieces when the image is a container. */
function* batches(map: DataMap, locate: ((o: number, l: number) => HashRegion['pieces'] | null) | undefined): Generator<HashRegion[]> {
  let batch: HashRegion[] = []
  let bytes = 0
  for (const r of map.regions) {
    const pieces = locate?.(r.offset, r.length) ?? undefined
    batch.push(pieces ? { offset: r.offset, length: r.length, pieces } : { offset: r.offset, length: r.length })
    bytes += r.length
    if (batch.length >= BATCH_REGIONS || bytes >= BATCH_BYTES) {
      yield batch
      batch = []
      bytes = 0
    }
  }
  yield batch
}

/**
 * sha256 of the virtual disk `map` describes (its data regions read, its holes hashed from
 * zeros). A large image is hashed on a worker thread, so the main thread stays free for
 * timers, sockets, progress and Ctrl-C (10 GiB of holes is ~10 s of sha256); a small one
 * (IN_THREAD_MAX, as the map's own rule) on the main thread, a 4 MiB slice at a time
 * with the event loop run between slices, which is cheaper than starting a worker.
 */
export async function hashVirtualDisk(map: DataMap, o: { onProgress?: HashProgress; signal?: AbortSignal; inThread?: boolean } = {}): Promise<string> {
  // The regions are of the virtual disk: a container image (src/disk) is read through its tables.
  const disk = openDisk(map.path)
  const locate = disk.format === 'raw' ? undefined : (off: number, len: number) => disk.locate(off, len)
  try {
    if (o.inThread ?? map.size <= IN_THREAD_MAX) return await inThread(map, locate, o.signal)
    return await inWorker(map, locate, o.onProgress, o.signal)
  } finally {
    disk.close()
  }
}

async function inThread(map: DataMap, locate: Parameters<typeof batches>[1], signal?: AbortSignal): Promise<string> {
  const s = imageHasher({ fs, crypto, zlib }, { read: readPieces, slice: slicePieces, ioOf: pieceIoOf }, map.path, map.size, HASH_SLICE)
  try {
    for (const b of batches(map, locate)) {
      s.add(b)
      while (s.step()) {
        await new Promise((resolve) => setImmediate(resolve))
        if (signal?.aborted) throw new Error('hashing the image was abandoned')
      }
    }
    s.end()
    while (s.step()) await new Promise((resolve) => setImmediate(resolve))
    return s.digest()
  } finally {
    s.close()
  }
}

async function inWorker(map: DataMap, locate: Parameters<typeof batches>[1], onProgress?: HashProgress, signal?: AbortSignal): Promise<string> {
  if (signal?.aborted) throw new Error('hashing the image was abandoned')
  // No execArgv: the worker needs no flag of the main process (map-pool.ts).
  const w = new Worker(workerSource(), { eval: true, workerData: { path: map.path, size: map.size }, execArgv: [] })
  const it = batches(map, locate)
  // One batch ahead, so the last one goes with end: true (batches yields at least one).
  let cur = it.next()
  const sendNext = (): void => {
    if (cur.done) return
    const next = it.next()
    w.postMessage({ regions: cur.value, end: next.done === true })
    cur = next
  }
  let onAbort: (() => void) | undefined
  try {
    return await new Promise<string>((resolve, reject) => {
      onAbort = (): void => reject(new Error('hashing the image was abandoned'))
      signal?.addEventListener('abort', onAbort, { once: true })
      w.on('message', (m: FromWorker) => {
        if ('progress' in m) onProgress?.(m.progress, map.size)
        else if ('more' in m) {
          // A container whose tables point outside the file fails here, in locate: a rejection, not an uncaught throw.
          try {
            sendNext()
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)))
          }
        } else if ('digest' in m) resolve(m.digest)
        else reject(new Error(`reading ${map.path}: ${m.error}`))
      })
      w.on('error', reject)
      w.on('exit', (code) => reject(new Error(`the image hash worker exited (code ${code})`)))
      sendNext()
    })
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort)
    await w.terminate()
  }
}
