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

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r')

/**
 * A line-by-line model of libxenfsimage's ufs plugin (fsys_ufs.c, from Solaris via
 * GRUB legacy): only a UFS1 superblock at +8192, no sanity checks beyond the magic
 * and block size, 32-bit pointers, names compared up to their NUL, holes and
 * unreadable indirect blocks read as zeros. `offset` is what pygrub passed in.
 */
export function pygrubUfsMount(read: ReadAt, size: number, offset: number): PygrubUfs | null {
  // devread(): a short pread fails the whole call.
  const devread = (sector: number, off: number, len: number): Buffer | null => {
    const at = offset + sector * 512 + off
    return at < 0 || at + len > size || !Number.isSafeInteger(at) ? null : read(at, len)
  }
  const sb = devread(UFS_SBLOCK / 512, 0, 8192)
  if (sb === null || sb.readUInt32LE(1372) !== UFS_MAGIC) return null
  const f = (at: number): number => sb.readInt32LE(at)
  const bsize = f(48)
  if (bsize > PLUGIN_MAXBSIZE) return null
  if (bsize <= 0) throw new PygrubAbort(`pygrub's ufs plugin would misbehave on fs_bsize ${bsize}`)
  const [bmask, bshift, fragshift, fsbtodb, nindir] = [f(72), f(80), f(96), f(100), f(116)]
  const [iblkno, cgoffset, cgmask, ipg, inopb, fpg] = [f(16), f(24), sb.readUInt32LE(28), f(184), f(120), f(188)]
  const div = (a: number, b: number): number => {
    if (b === 0) throw new PygrubAbort('pygrub crashes: division by zero in the ufs plugin (corrupt superblock)')
    return Math.trunc(a / b)
  }
  const toSector = (frag: number): number => frag * 2 ** fsbtodb

  const openi = (ino: number): Buffer | null => {
    const cg = div(ino, ipg)
    const frag = cg * fpg + cgoffset * ((cg & ~cgmask) >>> 0) + iblkno + div(ino % ipg, inopb) * 2 ** fragshift
    return devread(toSector(frag), (ino % inopb) * 128, 128)
  }
  const sbmap = (inode: Buffer, bn: number): number => {
    if (bn < 12) return inode.readInt32LE(40 + 4 * bn)
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
    let nb = inode.readInt32LE(88 + 4 * level)
    if (nb === 0) return 0
    for (let i = 0; i <= level; i++) {
      const blk = devread(toSector(nb), 0, bsize)
      if (blk === null) return 0
      bound = div(bound, nindir)
      nb = blk.readInt32LE(4 * (div(rest, bound) % nindir))
      if (i > 0 && nb === 0) return 0
    }
    return nb
  }
  const dlook = (dir: Buffer, name: string): number => {
    if ((dir.readUInt16LE(0) & IFMT) !== IFDIR) return 0
    const sizeLo = dir.readUInt32LE(8)
    let block: Buffer | null = null
    for (let loc = 0, steps = 0; loc < sizeLo; steps++) {
      if (steps > MAX_DIR_STEPS) throw new PygrubAbort('directory walk does not end (emulation limit)')
      const off = loc & ~bmask
      if (off === 0) {
        const dbn = sbmap(dir, loc >> bshift)
        block = dbn === 0 ? null : devread(toSector(dbn), 0, bsize)
        if (block === null) return 0
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
  const ufsDir = (path: string): Buffer | null => {
    let p = 0
    let ino = ROOTINO
    while (path[p] === '/') p++
    while (ino !== 0 && p < path.length && !isSpace(path[p] ?? '')) {
      const dir = openi(ino)
      if (dir === null) return null
      const start = p
      while (p < path.length && !isSpace(path[p] ?? '') && path[p] !== '/') p++
      ino = dlook(dir, Buffer.from(path.slice(start, p), 'utf8').toString('latin1'))
      while (path[p] === '/') p++
    }
    const inode = openi(ino)
    return inode !== null && ino !== 0 && (inode.readUInt16LE(0) & IFMT) === IFREG ? inode : null
  }
  return {
    open(path) {
      const inode = ufsDir(path)
      if (inode === null) return null
      const sizeLo = inode.readUInt32LE(8)
      return { sizeLo, read: () => readAll(inode, sizeLo) }
    },
  }

  // pygrub copies FS_READ_MAX at a time and stops at the first chunk that fails or is empty.
  function readAll(inode: Buffer, sizeLo: number): Buffer {
    if (sizeLo > MAX_KERNEL) throw new PygrubAbort(`file of ${sizeLo} bytes is beyond the emulation limit`)
    const out = Buffer.alloc(sizeLo)
    for (let chunk = 0; chunk < sizeLo; chunk += FS_READ_MAX) {
      for (let pos = chunk; pos < Math.min(sizeLo, chunk + FS_READ_MAX); ) {
        const off = pos & ~bmask
        const n = Math.min(bsize - off, Math.min(sizeLo, chunk + FS_READ_MAX) - pos)
        if (n <= 0) throw new PygrubAbort(`pygrub crashes: fs_bmask ${bmask} does not match fs_bsize ${bsize}`)
        const dblk = sbmap(inode, pos >> bshift)
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
