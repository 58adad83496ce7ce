import { MAXFRAG, MINBSIZE, MAXBSIZE, SBLOCK_UFS1, SBLOCK_UFS2, SBLOCKSIZE } from './ufs-superblock.js'

export interface Ufs1GeometryOptions {
  /** Partition size in bytes; the file system uses whole blocks of it. */
  size: number
  bsize?: number
  fsize?: number
  /** Bytes of data space per inode (newfs -i); newfs's default is 4 fragments. */
  density?: number
  /** 1 (newfs -O1, the default: what pygrub reads) or 2 (newfs's default since FreeBSD 5). */
  version?: 1 | 2
}

/** The layout of a UFS1 or UFS2 file system (the writer's files keep their historical ufs1- prefix). */
export interface Ufs1Geometry {
  version: 1 | 2
  /** Byte offset of the superblock: 8192 (UFS1), 65536 (UFS2). */
  sblockloc: number
  /** 128 (UFS1) or 256 (UFS2) bytes per on-disk inode. */
  inodeSize: 128 | 256
  bsize: number
  fsize: number
  frag: number
  fragshift: number
  fsbtodb: number
  bshift: number
  fshift: number
  nindir: number
  inopb: number
  inopf: number
  /** Size in fragments, and the size the partition offered, in fragments. */
  size: number
  providerSize: number
  ncg: number
  fpg: number
  ipg: number
  sblkno: number
  cblkno: number
  iblkno: number
  dblkno: number
  cgsize: number
  cssize: number
  maxcontig: number
  contigsumsize: number
}

const MINCYLGRPS = 4
const MAXIPG_UFS1 = 0x7fff // cg_old_niblk is an int16
/** FreeBSD 9's MAXPHYS (the HOWTO era): maxcontig = MAXPHYS / bsize. */
const MAXPHYS = 128 * 1024
const FS_MAXCONTIG = 16
/** sizeof(struct cg) including padding, as in FreeBSD's CGSIZE(). */
const SIZEOF_CG = 176

const log2 = (n: number): number => 31 - Math.clz32(n)
const roundup = (n: number, m: number): number => Math.ceil(n / m) * m
const howmany = (n: number, m: number): number => Math.ceil(n / m)

/** FreeBSD's CGSIZE(): UFS1 has one "cylinder" per group (fs_old_cpg = 1), UFS2 none. */
export function cgHeaderSize(g: Pick<Ufs1Geometry, 'ipg' | 'fpg' | 'frag' | 'contigsumsize' | 'version'>): number {
  const base = SIZEOF_CG + (g.version === 1 ? 4 + 2 : 0) + howmany(g.ipg, 8) + howmany(g.fpg, 8) + 4
  return g.contigsumsize <= 0 ? base : base + g.contigsumsize * 4 + howmany(g.fpg / g.frag, 8)
}

/**
 * Chooses the layout the way FreeBSD's newfs -O1 does: inode count from the density,
 * cylinder groups as large as the cg map allows while keeping at least 4 of them,
 * and a last group big enough to hold its own metadata.
 */
export function computeUfs1Geometry(opts: Ufs1GeometryOptions): Ufs1Geometry {
  const bsize = opts.bsize ?? 16384
  const fsize = opts.fsize ?? bsize / 8
  const pow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0
  if (!pow2(bsize) || bsize < MINBSIZE || bsize > MAXBSIZE) throw new RangeError(`block size ${bsize} must be a power of 2 in ${MINBSIZE}..${MAXBSIZE}`)
  if (!pow2(fsize) || fsize < 512 || fsize > bsize || bsize / fsize > MAXFRAG) throw new RangeError(`fragment size ${fsize} must be bsize/1..bsize/8`)
  const frag = bsize / fsize
  const version = opts.version ?? 1
  const inodeSize = version === 1 ? 128 : 256
  const sblockloc = version === 1 ? SBLOCK_UFS1 : SBLOCK_UFS2
  const inopb = bsize / inodeSize
  const inopf = inopb / frag
  const size = Math.floor(opts.size / bsize) * frag
  const sblkno = roundup(howmany(sblockloc + SBLOCKSIZE, fsize), frag)
  const cblkno = sblkno + roundup(howmany(SBLOCKSIZE, fsize), frag)
  const iblkno = cblkno + frag
  const maxcontig = Math.max(1, Math.floor(MAXPHYS / bsize))
  const contigsumsize = maxcontig > 1 ? Math.min(maxcontig, FS_MAXCONTIG) : 0
  const fragsperinode = Math.max(1, Math.floor((opts.density ?? 4 * fsize) / fsize))
  const ipgFor = (fpg: number): number => roundup(howmany(fpg, fragsperinode), inopb)
  const minFpgFor = (ipg: number): number => roundup(iblkno + ipg / inopf, frag)

  // Smallest group that meets the density, then grow it (newfs's packing loop).
  let fpg = Math.max(minFpgFor(inopb), Math.min(fragsperinode * inopb, size))
  fpg = roundup(Math.max(fpg, minFpgFor(ipgFor(fpg))), frag)
  let ipg = ipgFor(fpg)
  if (size < minFpgFor(ipg) + frag) throw new RangeError(`${opts.size} bytes is too small for a UFS${version} file system`)
  for (; fpg < size; fpg += frag) {
    ipg = ipgFor(fpg)
    if (version === 2 || ipg <= MAXIPG_UFS1) {
      if (Math.floor(size / fpg) < MINCYLGRPS) break
      const cgBytes = cgHeaderSize({ ipg, fpg, frag, contigsumsize, version })
      if (cgBytes < bsize) continue
      if (cgBytes === bsize) break
    }
    fpg -= frag
    ipg = ipgFor(fpg)
    break
  }
  fpg = Math.min(fpg, size)
  ipg = ipgFor(fpg)
  // Shrink groups until the last one can hold its superblock copy, cg map and inodes.
  while (fpg > frag && size % fpg !== 0 && size % fpg < minFpgFor(ipg)) {
    fpg -= frag
    ipg = ipgFor(fpg)
  }
  const ncg = howmany(size, fpg)
  const cssize = roundup(ncg * 16, fsize)
  const g: Ufs1Geometry = {
    version,
    sblockloc,
    inodeSize,
    bsize,
    fsize,
    frag,
    fragshift: log2(frag),
    fsbtodb: log2(fsize / 512),
    bshift: log2(bsize),
    fshift: log2(fsize),
    nindir: bsize / (version === 1 ? 4 : 8),
    inopb,
    inopf,
    size,
    providerSize: Math.floor(opts.size / fsize),
    ncg,
    fpg,
    ipg,
    sblkno,
    cblkno,
    iblkno,
    dblkno: iblkno + ipg / inopf,
    cgsize: roundup(cgHeaderSize({ ipg, fpg, frag, contigsumsize, version }), fsize),
    cssize,
    maxcontig,
    contigsumsize,
  }
  if (g.dblkno + howmany(cssize, fsize) + frag > Math.min(fpg, size)) throw new RangeError('first cylinder group cannot hold its metadata')
  return g
}
