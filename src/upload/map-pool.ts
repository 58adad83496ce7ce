import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Region } from './data-map.js'
import { workerSource, type WindowResult } from './map-window.js'

export interface PoolResult {
  regions: Region[]
  regionHashes: Buffer
  dataBytes: number
  bytesRead: number
}

/**
 * Up to 4 workers: mapping is reading from the page cache and sha256, both CPU-bound, and
 * it runs before the upload starts, when the cores are otherwise idle. On 2 cores it
 * halves the map of 1 GiB of data (docs/upload.md).
 */
export const defaultWorkers = (): number => Math.max(1, Math.min(4, availableParallelism()))

type Waiter = { resolve: (r: WindowResult) => void; reject: (e: Error) => void }

/**
 * Maps `windows` (ascending, each inside one MAX_REGION-aligned window) on a pool of
 * workers and concatenates their results in window order. At most two windows per
 * worker are in flight, so memory stays bounded however many windows there are.
 */
export async function mapInWorkers(path: string, windows: AsyncIterable<Region>, block: number, readSize: number, count = defaultWorkers()): Promise<PoolResult> {
  const waiting = new Map<number, Waiter>()
  let dead: Error | undefined
  const fail = (e: Error): void => {
    dead ??= e
    for (const w of waiting.values()) w.reject(e)
    waiting.clear()
  }
  const workers = Array.from({ length: count }, () => {
    const w = new Worker(workerSource(block, readSize), { eval: true, workerData: { path } })
    w.on('message', (m: WindowResult & { id: number; error?: string }) => {
      const waiter = waiting.get(m.id)
      waiting.delete(m.id)
      if (m.error !== undefined) waiter?.reject(new Error(`mapping ${path}: ${m.error}`))
      else waiter?.resolve({ ...m, hashes: Buffer.from(m.hashes) })
    })
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`a mapping worker exited (code ${code})`)))
    return w
  })
  const out: PoolResult = { regions: [], regionHashes: Buffer.alloc(0), dataBytes: 0, bytesRead: 0 }
  const digests: Buffer[] = []
  const take = (r: WindowResult): void => {
    for (let i = 0; i < r.regions.length; i += 2) out.regions.push({ offset: r.regions[i]!, length: r.regions[i + 1]! })
    digests.push(r.hashes)
    out.dataBytes += r.dataBytes
    out.bytesRead += r.bytesRead
  }
  const queue: Promise<WindowResult>[] = []
  try {
    let id = 0
    for await (const win of windows) {
      const job = { id: id++, offset: win.offset, length: win.length }
      const result = new Promise<WindowResult>((resolve, reject) => (dead ? reject(dead) : waiting.set(job.id, { resolve, reject })))
      // Observed at once: a failure surfaces where the queue is drained, never as unhandled.
      result.catch(() => undefined)
      queue.push(result)
      workers[job.id % count]!.postMessage(job)
      if (queue.length > 2 * count) take(await queue.shift()!)
    }
    for (const r of queue) take(await r)
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
  out.regionHashes = Buffer.concat(digests)
  return out
}
