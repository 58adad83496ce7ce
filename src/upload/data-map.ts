import { open, type FileHandle } from 'node:fs/promises'
import { isZero } from '../image/zero.js'
import { alignExtents, seekDataExtents, SeekDataUnavailable } from './seek-data.js'

/** Granularity of zero detection: small enough to skip filesystem slack, big enough to be cheap. */
export const SCAN_BLOCK = 64 * 1024
/** Upper bound for one framed record, so one record never needs a huge buffer on either side. */
export const MAX_REGION = 16 * 1024 * 1024
const READ_SIZE = 4 * 1024 * 1024

export interface Region {
  offset: number
  length: number
}

export interface DataMap {
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
}

/**
 * Finds the non-zero SCAN_BLOCKs of an image, merged into runs of at most MAX_REGION.
 * Only the extents the file system reports as data are read (seek-data.ts); inside
 * them, all-zero blocks are still skipped, because images are full of written zeros.
 * Either way the map is the same, so it can identify the image across machines.
 */
export async function scanDataRegions(path: string, opts: ScanOptions = {}): Promise<DataMap> {
  const fh = await open(path, 'r')
  try {
    const { size, mtimeMs } = await fh.stat()
    if (opts.seekData !== false) {
      try {
        return { ...(await mapExtents(fh, size, alignExtents(seekDataExtents(path, size, opts.python), SCAN_BLOCK, size))), method: 'seek-data', mtimeMs }
      } catch (e) {
        if (!(e instanceof SeekDataUnavailable)) throw e
      }
    }
    return { ...(await mapExtents(fh, size, wholeFile(size))), method: 'scan', mtimeMs }
  } finally {
    await fh.close()
  }
}

async function* wholeFile(size: number): AsyncGenerator<Region> {
  if (size > 0) yield { offset: 0, length: size }
}

/** Reads the given extents with one fixed buffer and keeps their non-zero blocks. */
async function mapExtents(fh: FileHandle, size: number, extents: AsyncIterable<Region>): Promise<Omit<DataMap, 'method' | 'mtimeMs'>> {
  const buf = Buffer.allocUnsafe(READ_SIZE)
  const regions: Region[] = []
  let dataBytes = 0
  let bytesRead = 0
  const keep = (offset: number, n: number): void => {
    const last = regions[regions.length - 1]
    if (last && last.offset + last.length === offset && last.length + n <= MAX_REGION) last.length += n
    else regions.push({ offset, length: n })
    dataBytes += n
  }
  for await (const e of extents) {
    for (let pos = e.offset; pos < e.offset + e.length; ) {
      const want = Math.min(READ_SIZE, e.offset + e.length - pos)
      const { bytesRead: got } = await fh.read(buf, 0, want, pos)
      if (got === 0) break
      bytesRead += got
      for (let i = 0; i < got; i += SCAN_BLOCK) {
        const n = Math.min(SCAN_BLOCK, got - i)
        if (!isZero(buf.subarray(i, i + n))) keep(pos + i, n)
      }
      pos += got
    }
  }
  return { size, regions, dataBytes, bytesRead }
}
