import type { FragAllocator } from './ufs1-alloc.js'
import type { Ufs1Geometry } from './ufs1-geometry.js'
import { CG_MAGIC } from './ufs-superblock.js'

export interface CsSummary {
  ndir: number
  nbfree: number
  nifree: number
  nffree: number
}

/** Byte offsets inside a cg header, as FreeBSD's initcg() and fsck pass 5 lay them out. */
export function cgLayout(g: Ufs1Geometry): { iusedoff: number; freeoff: number; clustersumoff: number; clusteroff: number; nextfreeoff: number } {
  const space = 168 // &cg_space[0]
  // UFS1 keeps the old rotational tables there (fs_old_cpg (1) int32 + int16), zero; UFS2 has none.
  const iusedoff = g.version === 1 ? space + 4 + 2 : space
  const freeoff = iusedoff + Math.ceil(g.ipg / 8)
  let nextfreeoff = freeoff + Math.ceil(g.fpg / 8)
  let clustersumoff = 0
  let clusteroff = 0
  if (g.contigsumsize > 0) {
    clustersumoff = Math.ceil(nextfreeoff / 4) * 4 - 4
    clusteroff = clustersumoff + (g.contigsumsize + 1) * 4
    nextfreeoff = clusteroff + Math.ceil(g.fpg / g.frag / 8)
  }
  return { iusedoff, freeoff, clustersumoff, clusteroff, nextfreeoff }
}

const setBit = (buf: Buffer, at: number, bit: number): void => {
  const i = at + (bit >> 3)
  buf.writeUInt8(buf.readUInt8(i) | (1 << (bit & 7)), i)
}

/**
 * Encodes cylinder group `cg`: free-fragment map from the allocator, inode map from
 * `inodeUsed`, and every summary (cs, frsum, cluster map and counts) derived from
 * those maps exactly as fsck_ffs pass 5 recomputes them.
 */
export function encodeCg(g: Ufs1Geometry, cg: number, alloc: FragAllocator, inodeUsed: (ino: number) => boolean, ndir: number, time: number, initedInodes = g.ipg): { buf: Buffer; cs: CsSummary } {
  const L = cgLayout(g)
  const buf = Buffer.alloc(g.cgsize)
  const base = cg * g.fpg
  const ndblk = Math.min(g.fpg, g.size - base)
  const cs: CsSummary = { ndir, nbfree: 0, nifree: 0, nffree: 0 }
  const frsum = new Array<number>(8).fill(0)
  const clustersum = new Array<number>(g.contigsumsize + 1).fill(0)
  let run = 0
  const endRun = (): void => {
    if (run > 0) clustersum[Math.min(run, g.contigsumsize)] = (clustersum[Math.min(run, g.contigsumsize)] ?? 0) + 1
    run = 0
  }
  for (let d = 0; d < ndblk; d += g.frag) {
    let free = 0
    let fragRun = 0
    for (let j = 0; j < g.frag; j++) {
      if (alloc.isUsed(base + d + j)) {
        if (fragRun > 0) frsum[fragRun] = (frsum[fragRun] ?? 0) + 1
        fragRun = 0
        continue
      }
      setBit(buf, L.freeoff, d + j)
      free++
      fragRun++
    }
    if (free === g.frag) {
      cs.nbfree++
      if (g.contigsumsize > 0) setBit(buf, L.clusteroff, d / g.frag)
      run++
    } else {
      if (fragRun > 0) frsum[fragRun] = (frsum[fragRun] ?? 0) + 1
      cs.nffree += free
      endRun()
    }
  }
  endRun()
  for (let i = 0; i < g.ipg; i++) {
    if (inodeUsed(cg * g.ipg + i)) setBit(buf, L.iusedoff, i)
    else cs.nifree++
  }
  buf.writeInt32LE(CG_MAGIC, 4)
  buf.writeUInt32LE(cg, 12)
  if (g.version === 1) {
    buf.writeInt32LE(time, 8) // cg_old_time; UFS1 leaves the 64-bit cg_time zero
    buf.writeInt16LE(1, 16) // cg_old_ncyl: one "cylinder" per group
    buf.writeInt16LE(g.ipg, 18) // cg_old_niblk
    buf.writeInt32LE(168, 84) // cg_old_btotoff
    buf.writeInt32LE(172, 88) // cg_old_boff
  } else {
    buf.writeUInt32LE(g.ipg, 116) // cg_niblk
    buf.writeUInt32LE(initedInodes, 120) // cg_initediblk: inodes past it read as zero without I/O
    buf.writeBigInt64LE(BigInt(time), 136) // cg_time
  }
  buf.writeUInt32LE(ndblk, 20)
  buf.writeInt32LE(cs.ndir, 24)
  buf.writeInt32LE(cs.nbfree, 28)
  buf.writeInt32LE(cs.nifree, 32)
  buf.writeInt32LE(cs.nffree, 36)
  frsum.forEach((n, i) => buf.writeInt32LE(n, 52 + 4 * i))
  buf.writeUInt32LE(L.iusedoff, 92)
  buf.writeUInt32LE(L.freeoff, 96)
  buf.writeUInt32LE(L.nextfreeoff, 100)
  if (g.contigsumsize > 0) {
    buf.writeUInt32LE(L.clustersumoff, 104)
    buf.writeUInt32LE(L.clusteroff, 108)
    buf.writeUInt32LE(ndblk / g.frag, 112)
    clustersum.forEach((n, i) => {
      if (i > 0) buf.writeInt32LE(n, L.clustersumoff + 4 * i)
    })
  }
  return { buf, cs }
}
