import { randomFillSync } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { GiB, MiB } from './report.js'

export interface BenchImages {
  /** 16 GiB, 1 GiB of random data in 1 MiB pieces scattered over it, holes elsewhere. */
  sparse: string
  /** The same 1 GiB of data, back to back: what the upload cannot do better than. */
  floor: string
  /** 2 GiB of random data, no holes. */
  dense: string
}

/** Deterministic placement: one piece at a random 64 KiB-aligned spot of each 16 MiB stripe. */
export function* placements(pieces: number, stripe: number, piece: number): Generator<number> {
  let x = 0x9e3779b9
  for (let i = 0; i < pieces; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0
    const slots = (stripe - piece) / (64 * 1024)
    yield i * stripe + (x % slots) * 64 * 1024
  }
}

/** Writes the three images; random data, so nothing about them compresses or dedups. */
export async function writeBenchImages(dir: string): Promise<BenchImages> {
  const out: BenchImages = { sparse: join(dir, 'sparse-16g.img'), floor: join(dir, 'data-1g.bin'), dense: join(dir, 'dense-2g.img') }
  const sparse = await open(out.sparse, 'w')
  const floor = await open(out.floor, 'w')
  const dense = await open(out.dense, 'w')
  try {
    await sparse.truncate(16 * GiB)
    const buf = Buffer.allocUnsafe(MiB)
    let pos = 0
    for (const offset of placements(1024, 16 * MiB, MiB)) {
      randomFillSync(buf)
      await sparse.write(buf, 0, MiB, offset)
      await floor.write(buf, 0, MiB, pos)
      pos += MiB
    }
    const big = Buffer.allocUnsafe(16 * MiB)
    for (let p = 0; p < 2 * GiB; p += big.length) {
      randomFillSync(big)
      await dense.write(big, 0, big.length, p)
    }
  } finally {
    await Promise.all([sparse.close(), floor.close(), dense.close()])
  }
  return out
}
