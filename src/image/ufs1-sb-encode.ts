import type { CsSummary } from './ufs1-cg.js'
import type { Ufs1Geometry } from './ufs1-geometry.js'
import { NDADDR, NIADDR, UFS1_MAGIC, UFS2_MAGIC } from './ufs-superblock.js'

export interface Ufs1SuperblockState {
  cstotal: CsSummary
  time: number
  id: [number, number]
  volname?: string
}

const MINFREE = 8
const AVFILESIZ = 16384
const AFPDIR = 64
const FS_FLAGS_UPDATED = 0x80
const FS_44INODEFMT = 2

export function ufs1DataSize(g: Ufs1Geometry): number {
  return g.size - g.sblkno - g.ncg * (g.dblkno - g.sblkno) - Math.ceil(g.cssize / g.fsize)
}

/**
 * A FreeBSD newfs style superblock (fs_sbsize bytes). For UFS1 (-O1) both the 4.4BSD
 * fields and their FreeBSD 5+ 64-bit copies are filled, with fs_maxbsize = fs_bsize so
 * that the kernel's compatibility shim trusts the 64-bit ones; UFS2 (-O2) has only the
 * 64-bit ones and leaves every fs_old_* field zero, as newfs does.
 */
export function encodeUfs1Superblock(g: Ufs1Geometry, s: Ufs1SuperblockState): Buffer {
  const sbsize = Math.min(8192, Math.ceil(1376 / g.fsize) * g.fsize)
  const b = Buffer.alloc(sbsize)
  const i32 = (at: number, v: number): void => {
    b.writeInt32LE(v | 0, at)
  }
  const i64 = (at: number, v: number | bigint): void => {
    b.writeBigInt64LE(BigInt(v), at)
  }
  const dsize = ufs1DataSize(g)
  const nspf = g.fsize / 512
  const old = g.version === 1
  let maxfilesize = BigInt(g.bsize) * BigInt(NDADDR) - 1n
  for (let i = 0, pb = BigInt(g.bsize); i < NIADDR; i++) {
    pb *= BigInt(g.nindir)
    maxfilesize += pb
  }
  i32(8, g.sblkno)
  i32(12, g.cblkno)
  i32(16, g.iblkno)
  i32(20, g.dblkno)
  if (old) {
    i32(24, 0)
    b.writeUInt32LE(0xffffffff, 28) // old_cgoffset / old_cgmask: no staggering
    i32(32, s.time)
    i32(36, g.size)
    i32(40, dsize)
  }
  b.writeUInt32LE(g.ncg, 44)
  i32(48, g.bsize)
  i32(52, g.fsize)
  i32(56, g.frag)
  i32(60, MINFREE)
  if (old) {
    i32(64, 0)
    i32(68, 60)
  } // old_rotdelay, old_rps
  i32(72, ~(g.bsize - 1))
  i32(76, ~(g.fsize - 1))
  i32(80, g.bshift)
  i32(84, g.fshift)
  i32(88, g.maxcontig)
  i32(92, g.bsize / 8) // maxbpg = MAXBLKPG(bsize)
  i32(96, g.fragshift)
  i32(100, g.fsbtodb)
  i32(104, sbsize)
  i32(116, g.nindir)
  b.writeUInt32LE(g.inopb, 120)
  i32(128, 0) // fs_optim = FS_OPTTIME
  i32(144, s.id[0])
  i32(148, s.id[1])
  i32(156, g.cssize)
  i32(160, g.cgsize)
  b.writeUInt32LE(g.ipg, 184)
  i32(188, g.fpg)
  const { ndir, nbfree, nifree, nffree } = s.cstotal
  if (old) {
    i32(124, nspf)
    i32(132, g.fpg * nspf)
    i32(136, 1)
    i32(140, 0) // old_npsect, old_interleave, old_trackskew
    i32(152, g.dblkno) // old_csaddr = cgdmin(0)
    i32(168, g.fpg * nspf)
    i32(172, g.fpg * nspf)
    i32(176, g.ncg)
    i32(180, 1) // old_nsect, old_spc, old_ncyl, old_cpg
    i32(192, ndir)
    i32(196, nbfree)
    i32(200, nifree)
    i32(204, nffree)
  }
  b.writeUInt8(1, 209) // fs_clean
  b.writeUInt8(FS_FLAGS_UPDATED, 211) // fs_old_flags: flags live in fs_flags
  b.write((s.volname ?? '').slice(0, 31), 680, 'latin1')
  i32(860, g.bsize) // fs_maxbsize
  i64(872, g.providerSize)
  i64(880, Math.floor((g.fpg * MINFREE) / 200 / g.frag) * g.frag) // fs_metaspace
  i64(1000, g.sblockloc)
  i64(1008, ndir)
  i64(1016, nbfree)
  i64(1024, nifree)
  i64(1032, nffree)
  i64(1072, s.time)
  i64(1080, g.size)
  i64(1088, dsize)
  i64(1096, g.dblkno)
  b.writeUInt32LE(AVFILESIZ, 1196)
  b.writeUInt32LE(AFPDIR, 1200)
  i32(1316, g.contigsumsize)
  i32(1320, (NDADDR + NIADDR) * (old ? 4 : 8)) // fs_maxsymlinklen: 60 or 120 bytes fit in the pointers
  i32(1324, FS_44INODEFMT) // makefs writes it on UFS2 too; FreeBSD ignores it there
  i64(1328, maxfilesize)
  i64(1336, g.bsize - 1)
  i64(1344, g.fsize - 1) // qbmask, qfmask
  if (old) {
    i32(1356, 1)
    i32(1360, 1)
  } // old_postblformat = FS_DYNAMICPOSTBLFMT, old_nrpos
  i32(1372, old ? UFS1_MAGIC : UFS2_MAGIC)
  return b
}

/** The copy kept in each cylinder group only differs in where it says it lives. */
export function withActualLocation(sb: Buffer, byteOffset: number): Buffer {
  const copy = Buffer.from(sb)
  copy.writeBigInt64LE(BigInt(byteOffset), 992)
  return copy
}
