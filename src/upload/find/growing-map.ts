import { stat } from 'node:fs/promises'
import { asUserError } from '../../disk/inspect.js'
import type { GrowingContainer } from '../../disk/growing-disk.js'
import type { SpoolGrowth } from '../../disk/spool.js'
import { MAX_REGION, READ_SIZE, SCAN_BLOCK, type DataMap, type Region } from './data-map.js'
import { liveMap } from './live-map.js'
import { mapInWorkers, workersFor } from './map-pool.js'

/**
 * The map of a qcow2, VMDK or dynamic VHD that xz is still decompressing (spool.ts, `stream`): its
 * clusters come from growing-disk.ts as their tables and data are written, and are read
 * for written zeros and hashed as any container's (data-map.ts), so the map, the segments
 * and the identity are those of the whole file; the upload follows it as a raw.xz's
 * (liveMap, liveSegments). Complete when the spool is whole and every cluster is mapped.
 * A bad table found on the way is the error a whole file gives (image-unreadable); the
 * signal stops the decompression.
 */
export function growingContainerMap(image: string, growth: SpoolGrowth & { container: GrowingContainer }, o: { signal?: AbortSignal | undefined; hash?: boolean | undefined }): DataMap {
  const c = growth.container
  const disk = c.open()
  const workers = workersFor(c.size)
  const half = Math.max(1, Math.floor(workers / 2))
  // Followed by the upload as it grows, so not hashed on the way unless asked (data-map.ts, HASH_WHILE_MAPPING_ABOVE).
  const hash = o.hash ?? false
  const base = { path: growth.spool, size: c.size, format: c.format, fileSize: c.fileSize, mtimeMs: 0 }
  return liveMap(
    base,
    (onWindow, signal, followed) => {
      const stop = (): void => growth.abort()
      signal.addEventListener('abort', stop, { once: true })
      return mapInWorkers(growth.spool, alignedWindows(c.extents(), SCAN_BLOCK, c.size), SCAN_BLOCK, READ_SIZE, {
        workers,
        locate: (at, n) => disk.locate(at, n),
        hashing: hash,
        signal,
        onWindow,
        width: () => (followed() ? half : workers),
      })
        .then(async (mapped) => {
          await growth.done
          // The spool's final mtime: the upload checks at the end that nothing changed it since.
          return { ...mapped, method: 'tables' as const, mtimeMs: (await stat(growth.spool)).mtimeMs }
        })
        .catch((e: unknown) => {
          throw asUserError(image, e)
        })
        .finally(() => {
          disk.close()
          signal.removeEventListener('abort', stop)
        })
    },
    o.signal,
  )
}

/**
 * windows(alignExtents(extents)) of data-map.ts, the same windows, but each given as soon
 * as it is final instead of when the run of touching extents it belongs to ends: a
 * container whose clusters are one long run (a filled file system) would otherwise be
 * mapped only once the spool is whole. The extents are ascending and disjoint, so none
 * after `e` reaches below e's last block: the MAX_REGION windows before it are final.
 */
export async function* alignedWindows(extents: AsyncIterable<Region>, block: number, size: number, window = MAX_REGION): AsyncGenerator<Region> {
  let cur: Region | undefined
  function* cut(from: number, to: number): Generator<Region> {
    for (let pos = from; pos < to; ) {
      const end = Math.min(to, (Math.floor(pos / window) + 1) * window)
      yield { offset: pos, length: end - pos }
      pos = end
    }
  }
  for await (const e of extents) {
    const start = Math.floor(e.offset / block) * block
    const end = Math.min(size, Math.ceil((e.offset + e.length) / block) * block)
    if (cur && start <= cur.offset + cur.length) cur.length = Math.max(cur.length, end - cur.offset)
    else {
      if (cur) yield* cut(cur.offset, cur.offset + cur.length)
      cur = { offset: start, length: end - start }
    }
    const safe = Math.floor((Math.floor((e.offset + e.length) / block) * block) / window) * window
    if (safe > cur.offset) {
      const curEnd = cur.offset + cur.length
      yield* cut(cur.offset, Math.min(safe, curEnd))
      cur = safe < curEnd ? { offset: safe, length: curEnd - safe } : undefined
    }
  }
  if (cur) yield* cut(cur.offset, cur.offset + cur.length)
}
