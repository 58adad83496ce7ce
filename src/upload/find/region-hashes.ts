import { defaultWorkers, hashInWorkers, workersFor } from './map-pool.js'
import { READ_SIZE, type DataMap } from './data-map.js'

const started = new WeakMap<DataMap, Promise<Buffer>>()

/**
 * sha256 of each region of the map, 32 bytes per region in region order: the content
 * half of the image's identity (checkpoint.ts), and what --verify compares the VDI
 * with. A map of an image holding more than one segment's data computed them as it
 * read the data (data-map.ts, HASH_WHILE_MAPPING_ABOVE); any other is hashed once, on
 * demand: an upload starts it before its first segment and needs it only for its first
 * checkpoint. `workers` counts only for the call that starts the work.
 */
export function regionHashes(map: DataMap, workers?: number): Promise<Buffer> {
  let p = started.get(map)
  if (!p) {
    // A small image is hashed on the main thread, whatever `workers` says (map-pool.ts).
    const count = workersFor(map.size) === 0 ? 0 : (workers ?? defaultWorkers())
    p = map.hashes ? Promise.resolve(map.hashes) : hashInWorkers(map.path, map.regions, READ_SIZE, count)
    // Observed here: it may be started early and never awaited (a one-segment upload).
    p.catch(() => undefined)
    started.set(map, p)
  }
  return p
}

/** Bytes the hashing has read (or is reading), for the bytes-read figure. */
export const hashedBytes = (map: DataMap): number => (started.has(map) && !map.hashes ? map.dataBytes : 0)
