import { defaultWorkers, hashInWorkers, workersFor } from './map-pool.js'
import { READ_SIZE, type DataMap } from './data-map.js'

/**
 * One hashing per map, shared by every caller: the fleet uploads one image's map to
 * several pools at once. `holds` counts the background callers still wanting it;
 * `pinned`: a caller that needs the hashes (resume planning, --verify) asked, so nobody's
 * abort stops it.
 */
interface Hashing {
  promise: Promise<Buffer>
  stop: AbortController
  holds: number
  pinned: boolean
  finished: boolean
}
const hashings = new WeakMap<DataMap, Hashing>()
const hashed = new WeakMap<DataMap, number>()

/**
 * Niceness of an upload's hashing workers, at least (never above the process's own
 * priority). Their hashes only insure the upload (a checkpoint to resume from after a
 * cut), so on cores the transfer keeps busy, as over loopback or a fast link on few
 * cores, they take what the transfer leaves instead of half of it; beside a slower link
 * the cores are idle and the hashes come as early as before. 10, not 19: under other
 * load a nice-19 thread gets ~1.5% of a core, and the checkpoints would come only after
 * the upload.
 */
export const BACKGROUND_NICE = 10

export interface RegionHashOptions {
  /** Counts only for the call that starts the work; default defaultWorkers(). */
  workers?: number
  /**
   * Hash as insurance (upload.ts): niced workers (BACKGROUND_NICE, when this call starts
   * them) that stop once every background caller's signal has aborted and no caller
   * needs them; an abandoned hashing is forgotten, so a later caller starts again.
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
  if (map.hashes) return Promise.resolve(map.hashes)
  let h = hashings.get(map)
  if (!h) {
    // A small image is hashed on the main thread, whatever `workers` says (map-pool.ts).
    const count = workersFor(map.size) === 0 ? 0 : (o.workers ?? defaultWorkers())
    const stop = new AbortController()
    const onHashed = (n: number): void => void hashed.set(map, (hashed.get(map) ?? 0) + n)
    const promise = hashInWorkers(map.path, map.regions, READ_SIZE, count, { signal: stop.signal, nice: o.background ? BACKGROUND_NICE : 0, onHashed })
    const started: Hashing = { promise, stop, holds: 0, pinned: false, finished: false }
    h = started
    // Observed here: it may be started early and never awaited (a one-segment upload).
    promise.then(() => (started.finished = true)).catch(() => undefined)
    hashings.set(map, h)
  }
  const hashing = h
  if (!o.background) hashing.pinned = true
  else if (!o.background.aborted) {
    hashing.holds++
    o.background.addEventListener('abort', () => release(map, hashing), { once: true })
  } else release(map, hashing, 0)
  return hashing.promise
}

/** One background caller lets go; the last one, with nobody pinning it, stops an unfinished hashing. */
function release(map: DataMap, h: Hashing, by = 1): void {
  h.holds -= by
  if (h.holds > 0 || h.pinned || h.finished) return
  h.stop.abort()
  if (hashings.get(map) === h) hashings.delete(map)
}

/**
 * The end of a run (run.ts): whatever still hashes this map is stopped, pinned or not.
 * Nothing of the run needs it any more, and its workers would keep the process alive.
 */
export function stopHashing(map: DataMap): void {
  const h = hashings.get(map)
  if (!h || h.finished) return
  h.stop.abort()
  hashings.delete(map)
}

/** Bytes the hashing has read so far, abandoned hashings included (none when the map hashed as it read), for the bytes-read figure. */
export const hashedBytes = (map: DataMap): number => (map.hashes ? 0 : (hashed.get(map) ?? 0))
