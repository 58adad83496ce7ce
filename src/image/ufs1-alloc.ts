import type { Ufs1Geometry } from './ufs1-geometry.js'

/**
 * Fragment allocator for the writer. One bit per fragment of the whole file system;
 * the cylinder-group maps are derived from it at the end, so they are consistent
 * with what was handed out by construction.
 */
export class FragAllocator {
  private readonly used: Uint8Array
  private blockCursor = 0
  /** Blocks with some free fragments left, where small file tails are packed. */
  private readonly partial: number[] = []

  constructor(private readonly g: Ufs1Geometry) {
    this.used = new Uint8Array(Math.ceil(g.size / 8))
    // Per-group metadata: boot area + superblock copy + cg header + inode table (cg 0 also
    // holds the cs summary right after its inodes), exactly what newfs reserves.
    for (let cg = 0; cg < g.ncg; cg++) {
      const base = cg * g.fpg
      const from = cg === 0 ? 0 : base + g.sblkno
      const to = base + g.dblkno + (cg === 0 ? Math.ceil(g.cssize / g.fsize) : 0)
      this.mark(from, Math.min(to, g.size) - from)
      if (to % g.frag !== 0) this.partial.push(to - (to % g.frag))
    }
  }

  isUsed(frag: number): boolean {
    return ((this.used[frag >> 3] ?? 0) & (1 << (frag & 7))) !== 0
  }

  private mark(frag: number, count: number): void {
    for (let f = frag; f < frag + count; f++) this.used[f >> 3] = (this.used[f >> 3] ?? 0) | (1 << (f & 7))
  }

  private isFull(block: number): boolean {
    for (let f = block; f < block + this.g.frag; f++) if (!this.isUsed(f)) return false
    return true
  }

  private freeRun(frag: number, count: number): boolean {
    for (let f = frag; f < frag + count; f++) if (this.isUsed(f)) return false
    return true
  }

  /** A whole, block-aligned block; returns its fragment address. */
  allocBlock(): number {
    const { frag, size } = this.g
    for (let b = this.blockCursor; b + frag <= size; b += frag) {
      if (this.freeRun(b, frag)) {
        this.mark(b, frag)
        this.blockCursor = b + frag
        return b
      }
    }
    throw new RangeError('file system is full')
  }

  /** `count` (< frag) contiguous fragments inside one block, as FFS requires for a file tail. */
  allocFrags(count: number): number {
    const { frag } = this.g
    if (count >= frag) return this.allocBlock()
    for (let i = 0; i < this.partial.length; i++) {
      const block = this.partial[i] ?? 0
      for (let f = block; f + count <= block + frag; f++) {
        if (!this.freeRun(f, count)) continue
        this.mark(f, count)
        // Forget blocks that filled up, so the search stays short for big trees.
        if (this.isFull(block)) this.partial.splice(i, 1)
        return f
      }
    }
    const block = this.allocBlock()
    // Give back the rest of the block and remember it for the next small tail.
    for (let f = block + count; f < block + frag; f++) this.used[f >> 3] = (this.used[f >> 3] ?? 0) & ~(1 << (f & 7))
    this.partial.push(block)
    return block
  }
}
