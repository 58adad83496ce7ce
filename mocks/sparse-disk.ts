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
      let block = this.blocks.get(index)
      if (!block) {
        if (isZero(piece)) {
          pos += n
          continue
        }
        block = Buffer.alloc(BLOCK)
        this.blocks.set(index, block)
      }
      piece.copy(block, within)
      if (n === BLOCK && isZero(block)) this.blocks.delete(index)
      pos += n
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
