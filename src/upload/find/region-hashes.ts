import { hashInWorkers } from './map-pool.js'
import { READ_SIZE, type DataMap } from './data-map.js'

const started = new WeakMap<DataMap, Promise<Buffer>>()

/**
 * sha256 of each region of the map, 32 bytes per region in region order: the content
 * half of the image's identity (checkpoint.ts), and what --verify compares the VDI
 * with. Computed once per map on worker threads, and on demand: an upload starts it
 * before its first segment and needs it only for its first checkpoint, so on a link
 * slower than the disk it costs no time at all. `workers` counts only for the call
 * that starts the work.
 */
export function regionHashes(map: DataMap, workers?: number): Promise<Buffer> {
  let p = started.get(map)
  if (!p) {
    p = hashInWorkers(map.path, map.regions, READ_SIZE, workers)
    // Observed here: it may be started early and never awaited (a one-segment upload).
    p.catch(() => undefined)
    started.set(map, p)
  }
  return p
}

/** Bytes the hashing has read (or is reading), for the bytes-read figure. */
export const hashedBytes = (map: DataMap): number => (started.has(map) ? map.dataBytes : 0)
