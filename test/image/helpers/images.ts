import { writeFileSync, openSync, writeSync, ftruncateSync, closeSync } from 'node:fs'
import type { Extent } from '../../../src/image/extents.js'

/** Writes extents into a sparse file of `size` bytes. */
export function writeExtents(path: string, size: number, extents: readonly Extent[]): void {
  const fd = openSync(path, 'w')
  try {
    ftruncateSync(fd, size)
    for (const e of extents) writeSync(fd, e.data, 0, e.data.length, e.offset)
  } finally {
    closeSync(fd)
  }
}

export function writeBuffer(path: string, data: Buffer): void {
  writeFileSync(path, data)
}
