import { stat } from 'node:fs/promises'
import { alignExtents, seekDataExtents, SeekDataUnavailable } from './seek-data.js'
import { mapInWorkers, workersFor, type MapOptions, type MapResult } from './map-pool.js'
import { liveMap } from './live-map.js'
import { growingContainerMap } from './growing-map.js'
import { asUserError } from '../../disk/inspect.js'
import { openDisk } from '../../disk/open-disk.js'
import { SPOOL_BLOCK, spoolDataRuns, spoolGrowth, type SpoolGrowth } from '../../disk/spool.js'
import type { DiskFormat } from '../../disk/virtual-disk.js'

/** Granularity of zero detection: small enough to skip filesystem slack, big enough to be cheap. */
export const SCAN_BLOCK = 64 * 1024
/**
 * Upper bound for one framed record, so one record never needs a huge buffer on either
 * side. Regions are also cut at every multiple of it: windows that size are mapped in
 * parallel, and a region never spans two of them.
 */
export const MAX_REGION = 16 * 1024 * 1024
/** Read size of the workers that map and hash. */
export const READ_SIZE = 4 * 1024 * 1024
/**
 * An image with more allocated bytes than one upload segment (SEGMENT_BYTES) will need
 * its regions' hashes for its checkpoints: a map taken before its use computes them from
 * the bytes it reads anyway, instead of a second pool of workers reading the data again
 * (region-hashes.ts). A smaller one is most often uploaded in one segment, which needs no
 * hash at all. A `live` map does not: the upload follows it, and would then go at the
 * hashing's pace; the upload hashes beside it instead, niced (upload.ts).
 */
export const HASH_WHILE_MAPPING_ABOVE = 256 * 1024 * 1024

export interface Region {
  offset: number
  length: number
}

export interface DataMap {
  /** The file the map's bytes are read from: the image, or its decompressed spool (src/disk/spool.ts). */
  path: string
  /** The virtual disk's size (for a raw image, the file's). */
  size: number
  /** The container format of `path` (src/disk); regions are always of the virtual disk. */
  format?: DiskFormat
  /** Size of `path` when the map was taken, with mtimeMs: a change makes the map stale. */
  fileSize?: number
  regions: Region[]
  /** Bytes inside regions: what goes on the wire, headers aside. */
  dataBytes: number
  /** Bytes read from the file to build the map. */
  bytesRead: number
  /** The regions' sha256s when the map computed them as it read (HASH_WHILE_MAPPING_ABOVE); else region-hashes.ts does. */
  hashes?: Buffer
  /** How holes were found: the file system's SEEK_DATA, reading every byte, or the container's tables. */
  method: 'seek-data' | 'scan' | 'tables'
  /** The file's mtime when the map was taken: a later change makes the map stale. */
  mtimeMs: number
  /**
   * A map still being taken: a raw.xz still being decompressed (spool.ts, `stream`), or a
   * large image still being read (`live`, live-map.ts). `regions`, `dataBytes` (and
   * for the spool `mtimeMs`) are filled in when `settled` resolves; until then only the
   * upload, which follows `growth` segment by segment (segments.ts, liveSegments), may
   * use the map.
   */
  growth?: MapGrowth
  settled?: Promise<void>
}

/** How a map still being taken grows: what liveSegments and the progress estimate read of it. */
export type MapGrowth = Omit<SpoolGrowth, 'spool' | 'container'> & {
  /** Told by the upload when it starts following the map (live-map.ts gives it cores then). */
  follow?(): void
}

/** Waits until the map is complete: at once, but for one still following a growing spool. */
export async function settledMap(map: DataMap): Promise<DataMap> {
  await map.settled
  return map
}

export interface ScanOptions {
  /** false: read every byte, as on a platform without SEEK_DATA (tests, bench). */
  seekData?: boolean
  /** Interpreter for the SEEK_DATA helper; default python3 from PATH. */
  python?: string
  /** Abandons the map: the workers stop and the promise rejects. */
  signal?: AbortSignal
  /** Hash the regions while mapping them; default: when the file holds more than HASH_WHILE_MAPPING_ABOVE. */
  hash?: boolean
  /**
   * Return a large raw image's map at once, still being taken (`growth`, `settled`): the
   * upload then sends each segment as soon as its regions are known (live-map.ts). Only
   * for a caller that awaits settledMap before it reads `regions`, `dataBytes` or `hashes`.
   */
  live?: boolean
}

/**
 * Finds the non-zero SCAN_BLOCKs of an image, as runs cut at MAX_REGION-aligned
 * boundaries. Only the extents the file system reports as data are read (seek-data.ts);
 * inside them, all-zero blocks are still skipped, because images are full of written
 * zeros. Either way the map is the same, so it identifies the image across machines.
 * The regions' hashes, the other half of that identity, are computed from the same read
 * for an image holding more than a segment (HASH_WHILE_MAPPING_ABOVE), else apart and
 * on demand (region-hashes.ts).
 */
export async function scanDataRegions(image: string, opts: ScanOptions = {}): Promise<DataMap> {
  const growth = spoolGrowth(image)
  // A qcow2 or VMDK in xz still being decompressed: its tables are read as they are written (growing-map.ts).
  if (growth?.container) return growingContainerMap(image, { ...growth, container: growth.container }, opts)
  if (growth) return growingMap(growth, opts.signal)
  // Any format (src/disk): a compressed image was spooled by inspectImage; containers are read through their tables.
  // A table error is the user's image-unreadable (exit 2), as inspectImage gives it: a
  // container in xz that inspectImage saw growing may be whole by now, and then its tables
  // are walked here for the first time.
  let disk: ReturnType<typeof openDisk>
  try {
    disk = openDisk(image)
  } catch (e) {
    throw asUserError(image, e)
  }
  const path = disk.file
  const { size: fileSize, mtimeMs, blocks } = await stat(path)
  const hash = opts.hash ?? (!opts.live && blocks * 512 > HASH_WHILE_MAPPING_ABOVE)
  // A small image is read whole on the main thread: cheaper than the helper and the workers.
  const workers = workersFor(disk.size)
  if (disk.format !== 'raw') {
    const base = { path, size: disk.size, format: disk.format, fileSize, mtimeMs }
    // The tables say where data may be; its clusters are still read for written zeros (and
    // hashed), so a large container is followed as it is read, as a raw image is below.
    const take = (o: Pick<MapOptions, 'onWindow' | 'signal' | 'width'> = {}): Promise<MapResult & { method: DataMap['method'] }> =>
      mapInWorkers(path, windows(alignExtents(toAsync(disk.allocated()), SCAN_BLOCK, disk.size)), SCAN_BLOCK, READ_SIZE, {
        workers,
        locate: (o, l) => disk.locate(o, l),
        hashing: hash,
        ...o,
      })
        .then((mapped) => ({ ...mapped, method: 'tables' as const }))
        .catch((e: unknown) => {
          throw asUserError(image, e)
        })
        .finally(() => disk.close())
    if (!opts.live || workers === 0) return { ...base, ...(await take({ signal: opts.signal })) }
    const half = Math.max(1, Math.floor(workers / 2))
    return liveMap(base, (onWindow, signal, followed) => take({ signal, onWindow, width: () => (followed() ? half : workers) }), opts.signal)
  }
  disk.close()
  const size = fileSize
  // A raw image decompressed by this process: its spool already knows its non-zero blocks.
  const runs = SPOOL_BLOCK === SCAN_BLOCK ? spoolDataRuns(path) : undefined
  if (runs) return { path, size, format: 'raw', fileSize, ...fromRuns(runs), bytesRead: 0, method: 'scan', mtimeMs }
  const base = { path, size, format: 'raw' as const, fileSize, mtimeMs }
  const take = (o: Pick<MapOptions, 'onWindow' | 'signal' | 'width'> = {}): Promise<MapResult & { method: DataMap['method'] }> =>
    mapRaw(path, size, { ...opts, ...o, workers, hash, holes: blocks * 512 < size })
  // A small image is mapped in milliseconds: only a large one is worth following as it grows.
  if (!opts.live || workers === 0) return { ...base, ...(await take({ signal: opts.signal })) }
  // All the workers while the run logs in and looks things up, then half once the upload
  // follows the map: the rest of it then runs beside the transfer, which needs the other
  // cores (on a 1 Gb/s link, the whole pool beside it made the upload 0.7 s slower;
  // upload.ts gives its hashing the same share).
  const half = Math.max(1, Math.floor(workers / 2))
  return liveMap(base, (onWindow, signal, followed) => take({ signal, onWindow, width: () => (followed() ? half : workers) }), opts.signal)
}

/**
 * A raw image's map: the extents SEEK_DATA reports, else (no helper, it failed, or a file
 * without holes) every byte, from the start.
 */
async function mapRaw(
  path: string,
  size: number,
  o: ScanOptions & Pick<MapOptions, 'workers' | 'onWindow' | 'signal' | 'width'> & { hash: boolean; holes: boolean },
): Promise<MapResult & { method: DataMap['method'] }> {
  const read = (extents: AsyncIterable<Region>): Promise<MapResult> =>
    mapInWorkers(path, windows(extents), SCAN_BLOCK, READ_SIZE, { workers: o.workers, signal: o.signal, hashing: o.hash, onWindow: o.onWindow, width: o.width })
  // A file with as many blocks allocated as bytes has no hole for the helper to find (~60 ms of CPU saved).
  if (o.seekData !== false && o.workers !== 0 && o.holes) {
    try {
      return { ...(await read(alignExtents(seekDataExtents(path, size, o.python), SCAN_BLOCK, size))), method: 'seek-data' }
    } catch (e) {
      if (!(e instanceof SeekDataUnavailable)) throw e
    }
  }
  return { ...(await read(wholeFile(size))), method: 'scan' }
}

/** The map of a spool still being written: complete when the spool is; the signal stops the decompression. */
function growingMap(growth: SpoolGrowth, signal: AbortSignal | undefined): DataMap {
  const map: DataMap = { path: growth.spool, size: growth.size, format: 'raw', fileSize: growth.size, regions: [], dataBytes: 0, bytesRead: 0, method: 'scan', mtimeMs: 0, growth }
  const stop = (): void => growth.abort()
  signal?.addEventListener('abort', stop, { once: true })
  map.settled = growth.done
    .then(async () => {
      Object.assign(map, fromRuns(growth.runs), { mtimeMs: (await stat(growth.spool)).mtimeMs })
      delete map.growth
      delete map.settled
    })
    .finally(() => signal?.removeEventListener('abort', stop))
  map.settled.catch(() => undefined) // awaited by the upload; a run that stops first aborts it
  return map
}

/** The regions of ascending [offset, length] block runs: cut at MAX_REGION boundaries, as mapWindow cuts them. */
export function fromRuns(runs: readonly number[]): { regions: Region[]; dataBytes: number } {
  const regions: Region[] = []
  let dataBytes = 0
  for (let i = 0; i < runs.length; i += 2) {
    const [offset, length] = [runs[i]!, runs[i + 1]!]
    dataBytes += length
    for (let pos = offset; pos < offset + length; ) {
      const end = Math.min(offset + length, (Math.floor(pos / MAX_REGION) + 1) * MAX_REGION)
      regions.push({ offset: pos, length: end - pos })
      pos = end
    }
  }
  return { regions, dataBytes }
}

async function* toAsync<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it
}

async function* wholeFile(size: number): AsyncGenerator<Region> {
  if (size > 0) yield { offset: 0, length: size }
}

/** The extents cut at every MAX_REGION-aligned boundary, so no region spans two windows. */
async function* windows(extents: AsyncIterable<Region>): AsyncGenerator<Region> {
  for await (const e of extents) {
    for (let pos = e.offset; pos < e.offset + e.length; ) {
      const end = Math.min(e.offset + e.length, (Math.floor(pos / MAX_REGION) + 1) * MAX_REGION)
      yield { offset: pos, length: end - pos }
      pos = end
    }
  }
}
