import type { ReadAt } from './read-at.js'

/**
 * Where real pygrub would hang or crash (zero d_reclen, division by zero in the C
 * plugin) or where the emulation refuses to go on; the message says which.
 */
export class PygrubAbort extends Error {
  override readonly name = 'PygrubAbort'
}

export interface PygrubUfs {
  /** ufs_dir(): the file's low 32-bit size and a reader, or null when it cannot be opened. */
  open(path: string): { sizeLo: number; read(): Buffer } | null
}

const UFS_SBLOCK = 8192
const UFS_MAGIC = 0x011954
/** (FSYS_BUFLEN - 0x4000) / 2: larger blocks do not fit the plugin's buffers. */
const PLUGIN_MAXBSIZE = (0x40000 - 0x4000) / 2
const ROOTINO = 2
const IFMT = 0o170000
const IFDIR = 0o040000
const IFREG = 0o100000
const FS_READ_MAX = 1024 * 1024
const MAX_KERNEL = 256 * 1024 * 1024
const MAX_DIR_STEPS = 1_000_000

const u32 = (n: number): number => n >>> 0

/** The plugin's indirblk0/indirblk1 and the buffers they describe (per open file). */
interface IndirectCache {
  nb0: number
  buf0: Buffer
  nb1: number
  buf1: Buffer
}
const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r')

/**
 * A line-by-line model of libxenfsimage's ufs plugin (fsys_ufs.c, from Solaris via
 * GRUB legacy): only a UFS1 superblock at +8192, no sanity checks beyond the magic
 * and block size, 32-bit pointers, names compared up to their NUL, holes and
 * unreadable indirect blocks read as zeros. `offset` is what pygrub passed in.
 */
export function pygrubUfsMount(read: ReadAt, size: number, offset: number): PygrubUfs | null {
  // devread(unsigned sector, unsigned offset, …): a short pread fails the whole call.
  const devread = (sector: number, off: number, len: number): Buffer | null => {
    const at = offset + u32(sector) * 512 + u32(off)
    return at + len > size ? null : read(at, len)
  }
  const sb = devread(UFS_SBLOCK / 512, 0, 8192)
  if (sb === null || sb.readUInt32LE(1372) !== UFS_MAGIC) return null
  const f = (at: number): number => sb.readInt32LE(at)
  const bsize = f(48)
  if (bsize > PLUGIN_MAXBSIZE) return null
  if (bsize <= 0) throw new PygrubAbort(`pygrub's ufs plugin would misbehave on fs_bsize ${bsize}`)
  const [bmask, bshift, fragshift, fsbtodb, nindir] = [f(72), f(80), f(96), f(100), f(116)]
  const [iblkno, cgoffset, cgmask, ipg, inopb, fpg] = [f(16), f(24), sb.readUInt32LE(28), f(184), f(120), f(188)]
  // The plugin's inode and block arithmetic is unsigned 32-bit (grub_daddr32_t) and its
  // shifts are x86's (count mod 32): a damaged superblock wraps rather than overflows.
  const udiv = (a: number, b: number): number => {
    if (u32(b) === 0) throw new PygrubAbort('pygrub crashes: division by zero in the ufs plugin (corrupt superblock)')
    return Math.floor(u32(a) / u32(b))
  }
  const umod = (a: number, b: number): number => u32(a) - udiv(a, b) * u32(b)
  const sdiv = (a: number, b: number): number => {
    if (b === 0) throw new PygrubAbort('pygrub crashes: division by zero in the ufs plugin (corrupt superblock)')
    return Math.trunc(a / b)
  }
  const toSector = (frag: number): number => u32(frag << fsbtodb)

  const openi = (ino: number): Buffer | null => {
    const cg = udiv(ino, ipg)
    const cgstart = u32(Math.imul(fpg, cg) + Math.imul(cgoffset, u32(cg & ~cgmask)))
    const frag = u32(cgstart + iblkno + u32(udiv(umod(ino, ipg), inopb) << fragshift))
    return devread(toSector(frag), (umod(ino, inopb) * 128) % 2 ** 32, 128)
  }
  /**
   * sbmap() with the plugin's two one-block caches (indirblk0/1), reset by each ufs_dir().
   * They are not only speed: INDIRBLK1 shares its buffer with DIRENT, so a cached
   * second-level block can be stale, and the emulation keeps that too.
   */
  const sbmap = (inode: Buffer, bn: number, c: IndirectCache): number => {
    if (bn < 12) return inode.readUInt32LE(40 + 4 * bn)
    let rest = bn - 12
    let bound = nindir
    let level = 0
    while (rest >= bound) {
      if (bound <= 0) throw new PygrubAbort('pygrub crashes: fs_nindir is not positive')
      level++
      rest -= bound
      bound *= nindir
      if (level >= 3) return 0 // the plugin's answer too, reached without its long loop when nindir is 1
    }
    let nb = inode.readUInt32LE(88 + 4 * level)
    if (nb === 0) return 0
    if (c.nb0 !== nb) {
      c.nb0 = 0
      const blk = devread(toSector(nb), 0, bsize)
      if (blk === null) return 0
      c.buf0 = blk
      c.nb0 = nb
    }
    bound = sdiv(bound, nindir) // int / int in C, then (unsigned bn / bound) % NINDIR
    nb = entry(c.buf0, umod(udiv(rest, bound), nindir))
    for (let i = 1; i <= level; i++) {
      if (c.nb1 !== nb) {
        const blk = devread(toSector(nb), 0, bsize)
        if (blk === null) return 0
        c.buf1 = blk
        c.nb1 = nb
      }
      bound = sdiv(bound, nindir)
      nb = entry(c.buf1, umod(udiv(rest, bound), nindir))
      if (nb === 0) return 0
    }
    return nb
  }
  const entry = (block: Buffer, index: number): number => {
    if (4 * index + 4 > block.length) throw new PygrubAbort('pygrub reads past its indirect-block buffer (corrupt fs_nindir)')
    return block.readUInt32LE(4 * index)
  }
  const dlook = (dir: Buffer, name: string, c: IndirectCache): number => {
    if ((dir.readUInt16LE(0) & IFMT) !== IFDIR) return 0
    const sizeLo = dir.readUInt32LE(8)
    let block: Buffer | null = null
    for (let loc = 0, steps = 0; loc < sizeLo; steps++) {
      if (steps > MAX_DIR_STEPS) throw new PygrubAbort('directory walk does not end (emulation limit)')
      const off = loc & ~bmask
      if (off === 0) {
        const dbn = sbmap(dir, loc >> bshift, c)
        block = dbn === 0 ? null : devread(toSector(dbn), 0, bsize)
        if (block === null) return 0
        c.buf1 = block // DIRENT and INDIRBLK1 are the same bytes of FSYS_BUF
      }
      if (block === null || off + 8 > block.length) return 0
      const ino = block.readUInt32LE(off)
      const nul = block.indexOf(0, off + 8)
      if (ino !== 0 && nul >= 0 && block.toString('latin1', off + 8, nul) === name) return ino
      const reclen = block.readUInt16LE(off + 4)
      if (reclen === 0) throw new PygrubAbort('pygrub hangs: directory entry with d_reclen 0')
      loc += reclen
    }
    return 0
  }
  const ufsDir = (path: string, c: IndirectCache): Buffer | null => {
    let p = 0
    let ino = ROOTINO
    while (path[p] === '/') p++
    while (ino !== 0 && p < path.length && !isSpace(path[p] ?? '')) {
      const dir = openi(ino)
      if (dir === null) return null
      const start = p
      while (p < path.length && !isSpace(path[p] ?? '') && path[p] !== '/') p++
      ino = dlook(dir, Buffer.from(path.slice(start, p), 'utf8').toString('latin1'), c)
      while (path[p] === '/') p++
    }
    const inode = openi(ino)
    return inode !== null && ino !== 0 && (inode.readUInt16LE(0) & IFMT) === IFREG ? inode : null
  }
  return {
    open(path) {
      // ufs_dir() zeroes indirblk0/1; the buffers keep what they held (zeros at first).
      const c: IndirectCache = { nb0: 0, buf0: Buffer.alloc(bsize), nb1: 0, buf1: Buffer.alloc(bsize) }
      const inode = ufsDir(path, c)
      if (inode === null) return null
      const sizeLo = inode.readUInt32LE(8)
      return { sizeLo, read: () => readAll(inode, sizeLo, c) }
    },
  }

  // pygrub copies FS_READ_MAX at a time and stops at the first chunk that fails or is empty.
  function readAll(inode: Buffer, sizeLo: number, c: IndirectCache): Buffer {
    if (sizeLo > MAX_KERNEL) throw new PygrubAbort(`file of ${sizeLo} bytes is beyond the emulation limit`)
    const out = Buffer.alloc(sizeLo)
    for (let chunk = 0; chunk < sizeLo; chunk += FS_READ_MAX) {
      for (let pos = chunk; pos < Math.min(sizeLo, chunk + FS_READ_MAX); ) {
        const off = pos & ~bmask
        const n = Math.min(bsize - off, Math.min(sizeLo, chunk + FS_READ_MAX) - pos)
        if (n <= 0) throw new PygrubAbort(`pygrub crashes: fs_bmask ${bmask} does not match fs_bsize ${bsize}`)
        const dblk = sbmap(inode, pos >> bshift, c)
        if (dblk > 0) {
          const data = devread(toSector(dblk), off, n)
          if (data === null) return out.subarray(0, chunk)
          data.copy(out, pos)
        }
        pos += n
      }
    }
    return out
  }
}
