import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import { availableParallelism } from 'node:os'
import * as zlib from 'node:zlib'
import { Worker } from 'node:worker_threads'
import type { Region } from './data-map.js'
import { jobFunctions, jobRunner, workerSource, type Job, type WindowResult } from './map-window.js'
import { openDisk } from '../../disk/open-disk.js'
import type { Piece } from '../../disk/virtual-disk.js'

/** Where a range of the virtual disk lies in the file (VirtualDisk.locate); null: in place (raw). */
export type Locate = (offset: number, length: number) => Piece[] | null

/**
 * Up to 4 workers: finding zero blocks and hashing are reading from the page cache and
 * sha256, both CPU-bound; on 2 cores two workers halve them (docs/upload.md).
 */
export const defaultWorkers = (): number => Math.max(1, Math.min(4, availableParallelism()))

type Waiter = { resolve: (r: unknown) => void; reject: (e: Error) => void }

/**
 * Up to this many bytes (the virtual disk's size), an image is mapped and hashed on the
 * main thread: starting a worker costs ~25 to 50 ms of CPU and the python3 SEEK_DATA
 * helper ~60 ms, while reading 128 MiB, holes or data, costs 30 to 45 ms
 * (docs/upload.md, "CPU of one run"). Every sample image and most test images are this
 * small.
 */
export const IN_THREAD_MAX = 128 * 1024 * 1024

/** Workers for an image of `size` bytes: none (the main thread) for a small one. */
export const workersFor = (size: number): number => (size <= IN_THREAD_MAX ? 0 : defaultWorkers())

/** How runJobs runs: the pool, the job sizes, and what may stop or slow it. */
interface PoolOptions {
  /** Worker threads; 0: the main thread. */
  count: number
  block: number
  readSize: number
  signal?: AbortSignal | undefined
  locate?: Locate | undefined
  hashing?: boolean
  width?: (() => number) | undefined
  /** Niceness each worker gives itself (map-window.ts, workerMain); 0: the process's own. */
  nice?: number
}

/**
 * Runs `kind` jobs over `items` (ascending ranges of the image) on a pool of workers,
 * handing each result to `take` in item order. At most two jobs per worker are in
 * flight, so memory stays bounded however many items there are.
 */
async function runJobs<R>(path: string, kind: Job['kind'], items: AsyncIterable<Region> | Iterable<Region>, take: (r: R) => void, o: PoolOptions): Promise<void> {
  const { count, block, readSize, signal, locate, hashing = false, width } = o
  if (count === 0) return runInThread(path, kind, items, take, o)
  const waiting = new Map<number, Waiter>()
  let dead: Error | undefined
  const fail = (e: Error): void => {
    dead ??= e
    for (const w of waiting.values()) w.reject(e)
    waiting.clear()
  }
  // Aborted (the run failed before it needed the map): stop reading, let the workers go.
  const onAbort = (): void => fail(new Error('mapping the image was abandoned'))
  signal?.addEventListener('abort', onAbort, { once: true })
  const workers = Array.from({ length: count }, () => {
    // No execArgv: the workers need no flag of the main process (a preloaded module, say),
    // and `--input-type=module` would make their source a module, without `require`.
    const w = new Worker(workerSource(block, readSize), { eval: true, workerData: { path, nice: o.nice ?? 0 }, execArgv: [] })
    w.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const waiter = waiting.get(m.id)
      waiting.delete(m.id)
      if (m.error !== undefined) waiter?.reject(new Error(`reading ${path}: ${m.error}`))
      else waiter?.resolve(m.result)
    })
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`an image worker exited (code ${code})`)))
    return w
  })
  const queue: Promise<R>[] = []
  try {
    let id = 0
    let turn = 0
    for await (const item of items) {
      if (dead) throw dead
      const pieces = locate?.(item.offset, item.length) ?? undefined
      const job: Job = { id: id++, kind, offset: item.offset, length: item.length, ...(pieces ? { pieces } : {}), ...(hashing ? { hashing } : {}) }
      const result = new Promise<R>((resolve, reject) => (dead ? reject(dead) : waiting.set(job.id, { resolve: resolve as (r: unknown) => void, reject })))
      // Observed at once: a failure surfaces where the queue is drained, never as unhandled.
      result.catch(() => undefined)
      queue.push(result)
      // `width` of the workers take jobs now: fewer once the map runs beside the transfer (data-map.ts).
      const busy = Math.max(1, Math.min(count, width?.() ?? count))
      workers[turn++ % busy]!.postMessage(job)
      while (queue.length > 2 * busy) take(await queue.shift()!)
    }
    for (const r of queue) take(await r)
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/**
 * runJobs on the main thread, for a small image: the same job code (jobRunner) without
 * a worker's start-up. Each job is at most one MAX_REGION window or region (16 MiB,
 * a few ms), and the event loop runs between jobs, so the login beside it is not held up.
 */
async function runInThread<R>(path: string, kind: Job['kind'], items: AsyncIterable<Region> | Iterable<Region>, take: (r: R) => void, o: PoolOptions): Promise<void> {
  const { block, readSize, signal, locate, hashing = false } = o
  const runner = jobRunner({ fs, crypto, zlib }, jobFunctions, path, block, readSize)
  try {
    let id = 0
    for await (const item of items) {
      if (signal?.aborted) throw new Error('mapping the image was abandoned')
      const pieces = locate?.(item.offset, item.length) ?? undefined
      let result: unknown
      try {
        result = runner.run({ id: id++, kind, offset: item.offset, length: item.length, ...(pieces ? { pieces } : {}), ...(hashing ? { hashing } : {}) })
      } catch (e) {
        throw new Error(`reading ${path}: ${e instanceof Error ? e.message : String(e)}`)
      }
      take(result as R)
      await new Promise((resolve) => setImmediate(resolve))
    }
  } finally {
    runner.close()
  }
}

export interface MapResult {
  regions: Region[]
  dataBytes: number
  bytesRead: number
  /** With `hashing`: the regions' sha256s, 32 bytes each in region order (what hashInWorkers gives). */
  hashes?: Buffer
}

export interface MapOptions {
  /** Worker threads; 0: the main thread. Default defaultWorkers(). */
  workers?: number
  signal?: AbortSignal | undefined
  locate?: Locate | undefined
  /** Also each region's sha256, from the same read. */
  hashing?: boolean
  /** Hears each window's regions in image order, with the window's end: the map is final below it. */
  onWindow?: (regions: readonly Region[], end: number) => void
  /** How many of the workers take new jobs, asked before each job; default all of them. */
  width?: () => number
}

/**
 * The non-zero regions of `windows` (each inside one MAX_REGION-aligned window), in order;
 * with `hashing`, their sha256s too, from the same read.
 */
export async function mapInWorkers(path: string, windows: AsyncIterable<Region>, block: number, readSize: number, o: MapOptions = {}): Promise<MapResult> {
  const out: MapResult = { regions: [], dataBytes: 0, bytesRead: 0 }
  const digests: Uint8Array[] = []
  // Results come back in window order, so the ends queued here match them one to one.
  const ends: number[] = []
  async function* noted(): AsyncGenerator<Region> {
    for await (const w of windows) {
      ends.push(w.offset + w.length)
      yield w
    }
  }
  await runJobs<WindowResult>(
    path,
    'map',
    noted(),
    (r) => {
      const first = out.regions.length
      for (let i = 0; i < r.regions.length; i += 2) out.regions.push({ offset: r.regions[i]!, length: r.regions[i + 1]! })
      out.dataBytes += r.dataBytes
      out.bytesRead += r.bytesRead
      if (r.digests) digests.push(r.digests)
      o.onWindow?.(out.regions.slice(first), ends.shift()!)
    },
    { count: o.workers ?? defaultWorkers(), block, readSize, signal: o.signal, locate: o.locate, hashing: o.hashing ?? false, width: o.width },
  )
  if (o.hashing) out.hashes = Buffer.concat(digests)
  return out
}

/** What a hashing may be asked beside its workers. */
export interface HashOptions {
  /** Stops the hashing: its workers end and the promise rejects. */
  signal?: AbortSignal | undefined
  /** Niceness of its workers (Linux only; region-hashes.ts says when). */
  nice?: number
  /** Hears each region's length once its digest is in, for the bytes-read figure. */
  onHashed?: (bytes: number) => void
}

/** sha256 of each region, 32 bytes per region in region order. */
export async function hashInWorkers(path: string, regions: readonly Region[], readSize: number, count = defaultWorkers(), o: HashOptions = {}): Promise<Buffer> {
  const out = Buffer.alloc(32 * regions.length)
  let i = 0
  // The regions are of the virtual disk: a container image (src/disk) is read through its tables.
  const disk = openDisk(path)
  try {
    await runJobs<{ digest: Uint8Array }>(
      path,
      'hash',
      regions,
      (r) => {
        out.set(r.digest, 32 * i)
        const n = regions[i++]!.length
        o.onHashed?.(n)
      },
      { count, block: 1, readSize, signal: o.signal, locate: (off, l) => disk.locate(off, l), nice: o.nice },
    )
  } finally {
    disk.close()
  }
  return out
}
