import { stat } from 'node:fs/promises'
import { alignExtents, seekDataExtents, SeekDataUnavailable } from './seek-data.js'
import { mapInWorkers } from './map-pool.js'

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

export interface Region {
  offset: number
  length: number
}

export interface DataMap {
  /** The image file the map describes. */
  path: string
  size: number
  regions: Region[]
  /** Bytes inside regions: what goes on the wire, headers aside. */
  dataBytes: number
  /** Bytes read from the file to build the map. */
  bytesRead: number
  /** How holes were found: the file system's SEEK_DATA, or reading every byte. */
  method: 'seek-data' | 'scan'
  /** The file's mtime when the map was taken: a later change makes the map stale. */
  mtimeMs: number
}

export interface ScanOptions {
  /** false: read every byte, as on a platform without SEEK_DATA (tests, bench). */
  seekData?: boolean
  /** Interpreter for the SEEK_DATA helper; default python3 from PATH. */
  python?: string
  /** Abandons the map: the workers stop and the promise rejects. */
  signal?: AbortSignal
}

/**
 * Finds the non-zero SCAN_BLOCKs of an image, as runs cut at MAX_REGION-aligned
 * boundaries. Only the extents the file system reports as data are read (seek-data.ts);
 * inside them, all-zero blocks are still skipped, because images are full of written
 * zeros. Either way the map is the same, so it identifies the image across machines.
 * The regions' hashes, the other half of that identity, are computed apart and later
 * (region-hashes.ts), so that they can run while the upload already sends.
 */
export async function scanDataRegions(path: string, opts: ScanOptions = {}): Promise<DataMap> {
  const { size, mtimeMs } = await stat(path)
  if (opts.seekData !== false) {
    try {
      return { ...(await mapExtents(path, size, alignExtents(seekDataExtents(path, size, opts.python), SCAN_BLOCK, size), opts.signal)), method: 'seek-data', mtimeMs }
    } catch (e) {
      if (!(e instanceof SeekDataUnavailable)) throw e
    }
  }
  return { ...(await mapExtents(path, size, wholeFile(size), opts.signal)), method: 'scan', mtimeMs }
}

async function* wholeFile(size: number): AsyncGenerator<Region> {
  if (size > 0) yield { offset: 0, length: size }
}

/** Maps the extents window by window on worker threads (map-window.ts, map-pool.ts). */
async function mapExtents(path: string, size: number, extents: AsyncIterable<Region>, signal?: AbortSignal): Promise<Omit<DataMap, 'method' | 'mtimeMs'>> {
  return { path, size, ...(await mapInWorkers(path, windows(extents), SCAN_BLOCK, READ_SIZE, undefined, signal)) }
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
