import { check } from './errors.js'
import type { ReadAt } from './read-at.js'

export const UFS1_MAGIC = 0x011954
export const UFS2_MAGIC = 0x19540119
export const CG_MAGIC = 0x090255
export const SBLOCK_UFS1 = 8192
export const SBLOCK_UFS2 = 65536
/** FreeBSD's probe order (ffs_sbsearch): standard UFS2, UFS1, floppy, "piggy". */
export const SBLOCK_SEARCH = [65536, 8192, 0, 262144] as const
export const SBLOCKSIZE = 8192
export const FS_MAGIC_OFFSET = 1372
export const ROOTINO = 2
export const NDADDR = 12
export const NIADDR = 3
export const MINBSIZE = 4096
export const MAXBSIZE = 65536
export const MAXFRAG = 8

export interface UfsSuperblock {
  version: 1 | 2
  /** Byte offset of this superblock inside the partition. */
  location: number
  sblkno: number
  cblkno: number
  iblkno: number
  dblkno: number
  cgoffset: number
  cgmask: number
  ncg: number
  bsize: number
  fsize: number
  frag: number
  fragshift: number
  fsbtodb: number
  nindir: number
  inopb: number
  ipg: number
  fpg: number
  sbsize: number
  cssize: number
  cgsize: number
  csaddr: number
  /** File system size and data size, in fragments. */
  size: number
  dsize: number
  contigsumsize: number
  maxsymlinklen: number
  inodeFormat: number
  inodeSize: 128 | 256
  cstotal: { ndir: number; nbfree: number; nifree: number; nffree: number }
  clean: number
  volname: string
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0
const log2 = (n: number): number => 31 - Math.clz32(n)

function i64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigInt64LE(at)
  check(v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER), `superblock ${what} ${v} is out of range`)
  return Number(v)
}

/**
 * Decodes and sanity-checks a superblock. Every field that later drives an offset or a
 * loop bound is checked here, so the reader can trust it and corrupt input fails early.
 */
export function parseSuperblock(sb: Buffer, location: number): UfsSuperblock {
  check(sb.length >= 1376, 'superblock buffer too short')
  const magic = sb.readUInt32LE(FS_MAGIC_OFFSET)
  check(magic === UFS1_MAGIC || magic === UFS2_MAGIC, `no UFS magic at ${location}`)
  const version = magic === UFS1_MAGIC ? 1 : 2
  const r = (at: number): number => sb.readInt32LE(at)
  const bsize = r(48)
  const fsize = r(52)
  check(isPow2(bsize) && bsize >= MINBSIZE && bsize <= MAXBSIZE, `bad block size ${bsize}`)
  check(isPow2(fsize) && fsize >= 512 && fsize <= bsize && bsize / fsize <= MAXFRAG, `bad fragment size ${fsize}`)
  const frag = bsize / fsize
  const inodeSize = version === 1 ? 128 : 256
  const ptr = version === 1 ? 4 : 8
  const f: UfsSuperblock = {
    version,
    location,
    sblkno: r(8),
    cblkno: r(12),
    iblkno: r(16),
    dblkno: r(20),
    cgoffset: version === 1 ? r(24) : 0,
    cgmask: version === 1 ? sb.readUInt32LE(28) : 0xffffffff,
    ncg: sb.readUInt32LE(44),
    bsize,
    fsize,
    frag,
    fragshift: r(96),
    fsbtodb: r(100),
    nindir: r(116),
    inopb: sb.readUInt32LE(120),
    ipg: sb.readUInt32LE(184),
    fpg: r(188),
    sbsize: r(104),
    cssize: r(156),
    cgsize: r(160),
    csaddr: version === 1 ? r(152) : i64(sb, 1096, 'csaddr'),
    size: version === 1 ? r(36) : i64(sb, 1080, 'size'),
    dsize: version === 1 ? r(40) : i64(sb, 1088, 'dsize'),
    contigsumsize: r(1316),
    maxsymlinklen: r(1320),
    inodeFormat: version === 1 ? r(1324) : 2,
    inodeSize,
    cstotal:
      version === 1
        ? { ndir: r(192), nbfree: r(196), nifree: r(200), nffree: r(204) }
        : { ndir: i64(sb, 1008, 'ndir'), nbfree: i64(sb, 1016, 'nbfree'), nifree: i64(sb, 1024, 'nifree'), nffree: i64(sb, 1032, 'nffree') },
    clean: sb.readUInt8(209),
    volname: sb.subarray(680, 712).toString('latin1').replace(/\0.*$/s, ''),
  }
  // A FreeBSD 5+ UFS1 keeps the 64-bit copies current; prefer them when they are set.
  if (version === 1 && sb.readInt32LE(860) === bsize && sb.readBigInt64LE(1080) > 0n) f.size = i64(sb, 1080, 'size')
  check(f.fragshift === log2(frag), `fs_fragshift ${f.fragshift} does not match frag ${frag}`)
  check(f.nindir === bsize / ptr, `fs_nindir ${f.nindir} does not match block size`)
  check(f.inopb === bsize / inodeSize, `fs_inopb ${f.inopb} does not match block size`)
  check(f.ncg >= 1 && f.ipg >= f.inopb && f.ipg % f.inopb === 0, `bad inode geometry (ncg ${f.ncg}, ipg ${f.ipg})`)
  check(f.ncg * f.ipg < 2 ** 32, 'too many inodes')
  check(f.fpg >= frag && f.fpg % frag === 0, `bad fs_fpg ${f.fpg}`)
  check(f.iblkno > 0 && f.iblkno + f.ipg / (f.inopb / frag) <= f.fpg, 'inode table does not fit a cylinder group')
  check(f.size > 0 && f.size <= f.ncg * f.fpg, `fs_size ${f.size} does not match ${f.ncg} groups of ${f.fpg}`)
  check(f.cgoffset >= 0 && f.cgoffset < f.fpg, `bad fs_old_cgoffset ${f.cgoffset}`)
  return f
}

/** Finds the superblock of a UFS partition the way FreeBSD does; null if there is none. */
export function detectUfs(read: ReadAt, partitionSize: number): UfsSuperblock | null {
  for (const loc of SBLOCK_SEARCH) {
    if (loc + SBLOCKSIZE > partitionSize) continue
    const sb = read(loc, SBLOCKSIZE)
    const magic = sb.readUInt32LE(FS_MAGIC_OFFSET)
    // UFS2 records its own location; UFS1 is only valid at or below 8192 (FreeBSD's rule).
    const ufs2 = magic === UFS2_MAGIC && sb.readBigInt64LE(1000) === BigInt(loc)
    const ufs1 = magic === UFS1_MAGIC && loc <= SBLOCK_UFS1
    if (ufs1 || ufs2) return parseSuperblock(sb, loc)
  }
  return null
}

/** Cheap test for what pygrub's ufs plugin needs: a UFS1 magic at +8192 (+1372). */
export function hasUfs1MagicAt8192(read: ReadAt, partitionSize: number): boolean {
  if (SBLOCK_UFS1 + SBLOCKSIZE > partitionSize) return false
  return read(SBLOCK_UFS1 + FS_MAGIC_OFFSET, 4).readUInt32LE(0) === UFS1_MAGIC
}
