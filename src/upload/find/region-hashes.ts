import { defaultWorkers, hashInWorkers, workersFor } from './map-pool.js'
import { READ_SIZE, type DataMap } from './data-map.js'

const started = new WeakMap<DataMap, Promise<Buffer>>()
const hashed = new WeakMap<DataMap, number>()

/**
 * Niceness of an upload's hashing workers. Their hashes only insure the upload (a
 * checkpoint to resume from after a cut), so on cores the transfer keeps busy, as over
 * loopback or a fast link on few cores, they take what the transfer leaves instead of
 * half of it; beside a slower link the cores are idle and the hashes come as early as
 * before. 10, not 19: under other load a nice-19 thread gets ~1.5% of a core, and the
 * checkpoints would come only after the upload.
 */
export const BACKGROUND_NICE = 10

export interface RegionHashOptions {
  /** Counts only for the call that starts the work; default defaultWorkers(). */
  workers?: number
  /**
   * Hash as insurance (upload.ts): niced workers (BACKGROUND_NICE) that stop when the
   * signal aborts; an abandoned hashing is forgotten, so a later caller starts again.
   */
  background?: AbortSignal | undefined
}

/**
 * sha256 of each region, 32 bytes per region in region order: the content
 * half of the image's identity (checkpoint.ts), and what --verify compares the VDI
 * with. A map taken apart from an upload (not `live`) of an image holding more than one
 * segment's data computed them as it read the data (data-map.ts, HASH_WHILE_MAPPING_ABOVE);
 * any other is hashed once, on demand: an upload starts it beside its first segments and
 * needs it only for its first checkpoint.
 */
export function regionHashes(map: DataMap, o: RegionHashOptions = {}): Promise<Buffer> {
  let p = started.get(map)
  if (!p) {
    // A small image is hashed on the main thread, whatever `workers` says (map-pool.ts).
    const count = workersFor(map.size) === 0 ? 0 : (o.workers ?? defaultWorkers())
    hashed.set(map, 0)
    const onHashed = (n: number): void => void hashed.set(map, (hashed.get(map) ?? 0) + n)
    const self = map.hashes ? Promise.resolve(map.hashes) : hashInWorkers(map.path, map.regions, READ_SIZE, count, { signal: o.background, nice: o.background ? BACKGROUND_NICE : 0, onHashed })
    p = self
    let finished = false
    // Observed here: it may be started early and never awaited (a one-segment upload).
    p.then(() => (finished = true)).catch(() => undefined)
    started.set(map, p)
    // Hashes that were finished stay: a later caller gets them without reading again.
    o.background?.addEventListener('abort', () => !finished && started.get(map) === self && started.delete(map), { once: true })
  }
  return p
}

/** Bytes the hashing has read so far (none when the map hashed as it read), for the bytes-read figure. */
export const hashedBytes = (map: DataMap): number => (map.hashes ? 0 : (hashed.get(map) ?? 0))
