import type { DataMap } from '../upload/find/data-map.js'
import { cacheFile, identify, lookup, store, type Identity } from './hash-cache.js'
import { hashVirtualDisk, type HashProgress } from './image-hash-run.js'

/**
 * sha256 of the whole image, as `sha256sum` of the raw disk prints it, reading only its
 * data regions: the holes between them are known to be zero, so they are hashed from
 * memory. An 11 GiB image holding 500 MiB costs 500 MiB of reads, and ~10 s of sha256
 * over the holes, done off the main thread (image-hash-run.ts).
 */
export async function imageSha256(_image: string, map: DataMap, o: { onProgress?: HashProgress; signal?: AbortSignal } = {}): Promise<string> {
  // The virtual disk's bytes, whatever the container (src/disk): the same disk as raw and as qcow2 is one base.
  return hashVirtualDisk(map, o)
}

/** Whether the map was taken of the file as it is (raw and container images; a spool's map is of the spool). */
function mapMatches(map: DataMap, image: string, id: Identity): boolean {
  if (map.path !== image && map.path !== id.path) return true
  return map.fileSize === Number(id.size) && Math.abs(Number(BigInt(id.mtimeNs)) / 1e6 - map.mtimeMs) < 0.001
}

export interface ImageHashOptions {
  /** Where the cache lives (XDG_CACHE_HOME, HOME): process.env by default. */
  env?: Record<string, string | undefined>
  /** How far a long hash is; called only for an image hashed on a worker, every 256 MiB. */
  onProgress?: (image: string, hashed: number, total: number) => void
  signal?: AbortSignal
}

/**
 * One hash per image per rollout, shared by every group that uses it, and remembered
 * between rollouts in the user's cache (hash-cache.ts): an unchanged image is not hashed again.
 */
export class ImageHashes {
  private cache = new Map<string, Promise<string>>()
  /** Images whose hash came from the cache, for tests and the report. */
  readonly cached = new Set<string>()
  constructor(private readonly o: ImageHashOptions = {}) {}

  get(image: string, map: DataMap): Promise<string> {
    let p = this.cache.get(image)
    if (!p) this.cache.set(image, (p = this.hash(image, map)))
    return p
  }

  private async hash(image: string, map: DataMap): Promise<string> {
    const file = cacheFile(this.o.env ?? process.env)
    // The user's file, not map.path: a compressed image's spool is a new file each run.
    const before = await identify(image)
    const hit = await lookup(file, before, map.size)
    if (hit) {
      this.cached.add(image)
      return hit
    }
    const onProgress = this.o.onProgress
    const sha = await imageSha256(image, map, { ...(onProgress ? { onProgress: (n, t) => onProgress(image, n, t) } : {}), ...(this.o.signal ? { signal: this.o.signal } : {}) })
    // The map was taken before the hash began: an image changed in between is not remembered either.
    if (mapMatches(map, image, before)) await store(file, before, await identify(image), sha, map.size)
    return sha
  }
}
