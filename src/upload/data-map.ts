import { open } from 'node:fs/promises'
import { isZero } from '../image/zero.js'

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
}

/**
 * Finds the parts of an image that hold non-zero bytes, in SCAN_BLOCK steps, merged
 * into runs of at most MAX_REGION. Reads the file once, with a fixed-size buffer.
 */
export async function scanDataRegions(path: string): Promise<DataMap> {
  const fh = await open(path, 'r')
  try {
    const { size } = await fh.stat()
    const buf = Buffer.alloc(READ_SIZE)
    const regions: Region[] = []
    let dataBytes = 0
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_SIZE, size - pos), pos)
      if (bytesRead === 0) break
      for (let i = 0; i < bytesRead; i += SCAN_BLOCK) {
        const n = Math.min(SCAN_BLOCK, bytesRead - i)
        if (isZero(buf.subarray(i, i + n))) continue
        const offset = pos + i
        const last = regions[regions.length - 1]
        if (last && last.offset + last.length === offset && last.length + n <= MAX_REGION) last.length += n
        else regions.push({ offset, length: n })
        dataBytes += n
      }
      pos += bytesRead
    }
    return { size, regions, dataBytes }
  } finally {
    await fh.close()
  }
}
