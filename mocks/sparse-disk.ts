import { isZero } from '../src/image/zero.js'

/**
 * A VDI's contents, stored sparsely: only blocks holding a non-zero byte take memory,
 * so a 20 GiB VDI holding 5 MiB of data uses about 5 MiB.
 */
export const BLOCK = 64 * 1024

export class SparseDisk {
  private blocks = new Map<number, Buffer>()

  constructor(public size: number) {}

  /** Bytes held in memory: the "physical utilisation" of the disk. */
  get allocated(): number {
    return this.blocks.size * BLOCK
  }

  write(offset: number, data: Buffer): void {
    let pos = 0
    while (pos < data.length) {
      const abs = offset + pos
      const index = Math.floor(abs / BLOCK)
      const within = abs - index * BLOCK
      const n = Math.min(BLOCK - within, data.length - pos)
      const piece = data.subarray(pos, pos + n)
      pos += n
      const block = this.blocks.get(index)
      if (isZero(piece)) {
        // Zeros on a hole change nothing; zeros over a whole block free it.
        if (block && n === BLOCK) this.blocks.delete(index)
        else if (block) block.fill(0, within, within + n)
        continue
      }
      if (block) {
        piece.copy(block, within)
      } else if (n === BLOCK) {
        // A full block needs no zero-fill before the copy.
        const fresh = Buffer.allocUnsafeSlow(BLOCK)
        piece.copy(fresh)
        this.blocks.set(index, fresh)
      } else {
        const fresh = Buffer.alloc(BLOCK)
        piece.copy(fresh, within)
        this.blocks.set(index, fresh)
      }
    }
  }

  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)))
    let pos = 0
    while (pos < out.length) {
      const abs = offset + pos
      const index = Math.floor(abs / BLOCK)
      const within = abs - index * BLOCK
      const n = Math.min(BLOCK - within, out.length - pos)
      this.blocks.get(index)?.copy(out, pos, within, within + n)
      pos += n
    }
    return out
  }

  /** Block indexes holding data, ascending: lets export skip holes quickly. */
  dataBlocks(): number[] {
    return [...this.blocks.keys()].sort((a, b) => a - b)
  }

  clone(): SparseDisk {
    const d = new SparseDisk(this.size)
    for (const [i, b] of this.blocks) d.blocks.set(i, Buffer.from(b))
    return d
  }
}
