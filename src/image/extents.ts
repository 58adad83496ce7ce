import type { ReadAt } from './read-at.js'

/** A run of bytes at an absolute offset; everything not covered by an extent is zero. */
export interface Extent {
  offset: number
  data: Buffer
}

/** Moves extents built for a partition to their place on the disk. */
export function shiftExtents(extents: readonly Extent[], by: number): Extent[] {
  return extents.map((e) => ({ offset: e.offset + by, data: e.data }))
}

/**
 * Sorts extents, drops empty ones and proves they do not overlap.
 * Builders call this last, so an overlap (a layout bug) fails loudly instead of
 * silently corrupting an image.
 */
export function normalizeExtents(extents: readonly Extent[], limit?: number): Extent[] {
  const out = extents.filter((e) => e.data.length > 0).sort((a, b) => a.offset - b.offset)
  let end = 0
  for (const e of out) {
    if (e.offset < end) throw new Error(`extents overlap at offset ${e.offset} (previous ends at ${end})`)
    end = e.offset + e.data.length
  }
  if (limit !== undefined && end > limit) throw new Error(`extent ends at ${end}, past the image size ${limit}`)
  return out
}

/** Reads a sparse image described by sorted extents without materialising it. */
export function extentsReadAt(extents: readonly Extent[]): ReadAt {
  const sorted = normalizeExtents(extents)
  return (offset, length) => {
    const out = Buffer.alloc(length)
    const end = offset + length
    // Binary search for the first extent that ends after `offset`.
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const e = sorted[mid]
      if (e !== undefined && e.offset + e.data.length <= offset) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < sorted.length; i++) {
      const e = sorted[i]
      if (e === undefined || e.offset >= end) break
      const from = Math.max(offset, e.offset)
      const to = Math.min(end, e.offset + e.data.length)
      e.data.copy(out, from - offset, from - e.offset, to - e.offset)
    }
    return out
  }
}

/** Materialises extents into one buffer (tests and small images only). */
export function extentsToBuffer(extents: readonly Extent[], size: number): Buffer {
  return extentsReadAt(extents)(0, size)
}
