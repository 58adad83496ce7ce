import type { Extent } from './extents.js'
import type { FragAllocator } from './ufs1-alloc.js'
import type { Ufs1Geometry } from './ufs1-geometry.js'
import { NDADDR, NIADDR } from './ufs-superblock.js'

/** File bytes by logical block, so sparse files need no full-size buffer. */
export interface FileContent {
  size: number
  /** Data of logical block `lbn` (at most bsize bytes), or null for a hole. */
  block(lbn: number, bsize: number): Buffer | null
  /** False when no byte in the block range holds data (lets whole indirect subtrees be holes). */
  anyData(firstLbn: number, count: number, bsize: number): boolean
}

export function bufferContent(data: Buffer): FileContent {
  return {
    size: data.length,
    block: (lbn, bsize) => data.subarray(lbn * bsize, (lbn + 1) * bsize),
    anyData: () => true,
  }
}

/** A file of `size` bytes that is a hole except for `chunks`. */
export function sparseContent(size: number, chunks: readonly { offset: number; data: Buffer }[]): FileContent {
  for (const c of chunks) {
    if (c.offset < 0 || c.offset + c.data.length > size) throw new RangeError(`sparse chunk at ${c.offset} lies outside the ${size}-byte file`)
  }
  const touching = (from: number, to: number): { offset: number; data: Buffer }[] => chunks.filter((c) => c.offset < to && c.offset + c.data.length > from)
  return {
    size,
    block(lbn, bsize) {
      const from = lbn * bsize
      const to = Math.min(size, from + bsize)
      const hits = touching(from, to)
      if (hits.length === 0) return null
      const out = Buffer.alloc(to - from)
      for (const c of hits) {
        const s = Math.max(from, c.offset)
        c.data.copy(out, s - from, s - c.offset, Math.min(to, c.offset + c.data.length) - c.offset)
      }
      return out
    },
    anyData: (first, count, bsize) => touching(first * bsize, (first + count) * bsize).length > 0,
  }
}

export interface Placement {
  db: number[]
  ib: number[]
  /** Fragments held, data and indirect blocks together. */
  frags: number
  extents: Extent[]
}

/**
 * Allocates a file's blocks and builds its indirect blocks. As in FFS, only a last
 * block reached through a direct pointer may be a run of fragments, and the last
 * block is always allocated (a file never ends in a hole).
 */
export function placeFile(g: Ufs1Geometry, alloc: FragAllocator, content: FileContent): Placement {
  const { bsize, fsize, frag, nindir } = g
  const nblocks = Math.ceil(content.size / bsize)
  const p: Placement = { db: new Array<number>(NDADDR).fill(0), ib: new Array<number>(NIADDR).fill(0), frags: 0, extents: [] }
  const last = nblocks - 1
  const dataBlock = (lbn: number): number => {
    let data = content.block(lbn, bsize)
    if (data === null) {
      if (lbn !== last) return 0
      data = Buffer.alloc(0)
    }
    const n = lbn === last && lbn < NDADDR ? Math.ceil((content.size - lbn * bsize) / fsize) : frag
    const addr = n < frag ? alloc.allocFrags(n) : alloc.allocBlock()
    p.frags += n
    if (data.some((x) => x !== 0)) p.extents.push({ offset: addr * fsize, data })
    return addr
  }
  // Level 0 points at data blocks; level k at blocks of level k-1. Returns 0 for an all-hole subtree.
  const indirect = (level: number, first: number, count: number): number => {
    const childSpan = nindir ** level
    if (!content.anyData(first, count, bsize) && !(first <= last && last < first + count)) return 0
    const ptrs = Buffer.alloc(bsize)
    let any = false
    for (let i = 0; i * childSpan < count; i++) {
      const start = first + i * childSpan
      const child = level === 0 ? dataBlock(start) : indirect(level - 1, start, Math.min(childSpan, count - i * childSpan))
      if (child !== 0) {
        if (g.version === 1) ptrs.writeInt32LE(child, 4 * i)
        else ptrs.writeBigInt64LE(BigInt(child), 8 * i)
        any = true
      }
    }
    if (!any) return 0
    const addr = alloc.allocBlock()
    p.frags += frag
    p.extents.push({ offset: addr * fsize, data: ptrs })
    return addr
  }
  for (let lbn = 0; lbn < Math.min(NDADDR, nblocks); lbn++) p.db[lbn] = dataBlock(lbn)
  let first = NDADDR
  for (let level = 0; level < NIADDR && first < nblocks; level++) {
    const span = nindir ** (level + 1)
    p.ib[level] = indirect(level, first, Math.min(span, nblocks - first))
    first += span
  }
  if (first < nblocks) throw new RangeError(`file of ${content.size} bytes exceeds triple indirection`)
  return p
}
