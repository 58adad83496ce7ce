import type { DataMap, MapGrowth, Region } from './data-map.js'
import type { MapOptions, MapResult } from './map-pool.js'

/** A promise with its settle functions outside (Promise.withResolvers is Node 22). */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  // Nobody may be waiting when the map fails: the upload sees the failure through `settled`.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

/**
 * A large image's map, returned while it is still being taken, so that the upload sends
 * segment 0 while the rest of the image is read and hashed (docs/upload.md, "CPU of one
 * run"). It grows the way a raw.xz's spool does (spool.ts, SpoolGrowth), so the upload
 * follows it with the same code (segments.ts, liveSegments): a segment is sent once the
 * next one's first region is known, so the segments, the checkpoint identity and resume
 * are those of the whole map. `take` maps the image; its windows arrive in image order,
 * and below a window's end the map is final. When the SEEK_DATA helper fails mid-way,
 * `take` starts over by reading every byte, which finds the same regions: those below
 * the mark already published are skipped.
 */
export function liveMap(
  base: Pick<DataMap, 'path' | 'size' | 'format' | 'fileSize' | 'mtimeMs'>,
  /** followed(): whether the upload follows the map yet (MapGrowth.follow). */
  take: (onWindow: NonNullable<MapOptions['onWindow']>, signal: AbortSignal, followed: () => boolean) => Promise<MapResult & { method: DataMap['method'] }>,
  signal: AbortSignal | undefined,
): DataMap {
  const stop = new AbortController()
  const runs: number[] = []
  let mark = 0
  let complete = false
  let followed = false
  let tick = deferred()
  const bump = (): void => {
    const t = tick
    tick = deferred()
    t.resolve()
  }
  const onWindow = (regions: readonly Region[], end: number): void => {
    for (const r of regions) if (r.offset >= mark) runs.push(r.offset, r.length)
    mark = Math.max(mark, end)
    bump()
  }
  const done = take(onWindow, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, () => followed).then(
    (mapped) => {
      Object.assign(map, mapped)
      complete = true
      mark = base.size
      delete map.growth
      delete map.settled
      bump()
    },
    (e: unknown) => {
      // Every later wait fails too: the tick is never replaced again.
      tick.reject(e)
      throw e
    },
  )
  done.catch(() => undefined) // awaited by the upload (settledMap); a run that stops first aborts it
  const growth: MapGrowth = {
    size: base.size,
    runs,
    written: () => mark,
    complete: () => complete,
    next: () => (complete ? Promise.resolve() : tick.promise),
    done,
    abort: () => stop.abort(),
    follow: () => void (followed = true),
  }
  // A wait that starts after the last window (the upload was busy sending) returns at once.
  // Until `done`: no regions, and a provisional method; the whole map replaces them.
  const map: DataMap = { ...base, regions: [], dataBytes: 0, bytesRead: 0, method: 'seek-data', growth, settled: done }
  return map
}
