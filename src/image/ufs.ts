import { check, ImageFormatError, ImagePathError } from './errors.js'
import type { ReadAt } from './read-at.js'
import { DIRBLKSIZ, parseDirectory, type DirEntry } from './ufs-dirent.js'
import { parseDinode, type Dinode, type UfsFileType } from './ufs-inode.js'
import { detectUfs, NDADDR, NIADDR, ROOTINO, type UfsSuperblock } from './ufs-superblock.js'

export interface UfsInode extends Dinode {
  ino: number
}

export interface UfsFile {
  ino: number
  type: UfsFileType
  mode: number
  size: number
  nlink: number
  /** File bytes; the target for a symlink; the raw entries for a directory. */
  data: Buffer
}

export interface UfsReadOptions {
  /** Refuse files larger than this (a corrupt size must not allocate gigabytes). */
  maxSize?: number
}

const DEFAULT_MAX_SIZE = 512 * 1024 * 1024
const MAX_PATH_COMPONENTS = 256
const INDIRECT_CACHE = 8

/** Read-only access to a UFS1/UFS2 file system; `read` is relative to the partition start. */
export class UfsVolume {
  private readonly indirect = new Map<number, Buffer>()

  private constructor(
    private readonly read: ReadAt,
    private readonly partitionSize: number,
    readonly sb: UfsSuperblock,
  ) {}

  /** Opens the file system, or throws ImageFormatError if there is no usable superblock. */
  static open(read: ReadAt, partitionSize: number): UfsVolume {
    const sb = detectUfs(read, partitionSize)
    if (sb === null) throw new ImageFormatError('no UFS superblock found (looked at 65536, 8192, 0, 262144)')
    return new UfsVolume(read, partitionSize, sb)
  }

  /** Reads `length` bytes at fragment address `frag`, refusing anything outside fs and image. */
  private readFrags(frag: number, offsetInBlock: number, length: number): Buffer {
    const { fsize, size } = this.sb
    check(Number.isSafeInteger(frag) && frag > 0 && frag < size, `block address ${frag} is outside the file system`)
    const start = frag * fsize + offsetInBlock
    check(start + length <= Math.min(size * fsize, this.partitionSize), `block ${frag} lies past the end of the image`)
    return this.read(start, length)
  }

  inode(ino: number): UfsInode {
    const { sb } = this
    check(Number.isInteger(ino) && ino >= ROOTINO && ino < sb.ncg * sb.ipg, `inode ${ino} is out of range`)
    const cg = Math.floor(ino / sb.ipg)
    // cgstart: UFS1 may stagger groups by fs_old_cgoffset; UFS2 never does (cgmask = ~0).
    const cgstart = cg * sb.fpg + sb.cgoffset * ((cg & ~sb.cgmask) >>> 0)
    const frag = cgstart + sb.iblkno + Math.floor((ino % sb.ipg) / sb.inopb) * sb.frag
    const raw = this.readFrags(frag, (ino % sb.inopb) * sb.inodeSize, sb.inodeSize)
    return { ino, ...parseDinode(raw, sb.version) }
  }

  private pointer(block: number, index: number): number {
    let buf = this.indirect.get(block)
    if (buf === undefined) {
      buf = this.readFrags(block, 0, this.sb.bsize)
      if (this.indirect.size >= INDIRECT_CACHE) this.indirect.clear()
      this.indirect.set(block, buf)
    }
    if (this.sb.version === 1) return buf.readInt32LE(index * 4)
    const v = buf.readBigInt64LE(index * 8)
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v)
  }

  /** Fragment address of logical block `lbn`, 0 for a hole (direct, then 1-3 levels of indirection). */
  blockAddress(inode: Dinode, lbn: number): number {
    if (lbn < NDADDR) return inode.db[lbn] ?? 0
    const { nindir } = this.sb
    let rest = lbn - NDADDR
    let span = nindir
    let level = 0
    while (rest >= span) {
      rest -= span
      span *= nindir
      level++
      check(level < NIADDR, `logical block ${lbn} is beyond triple indirection`)
    }
    let addr = inode.ib[level] ?? 0
    for (let l = level; l >= 0 && addr !== 0; l--) {
      span /= nindir
      addr = this.pointer(addr, Math.floor(rest / span))
      rest %= span
      check(addr >= 0, `corrupt indirect pointer for logical block ${lbn}`)
    }
    return addr
  }

  /** Reads a byte range of a file; holes read as zeros. */
  readRange(inode: Dinode, offset: number, length: number): Buffer {
    check(offset >= 0 && length >= 0 && offset + length <= inode.size, 'read past the end of the file')
    const { bsize } = this.sb
    const out = Buffer.alloc(length)
    for (let pos = offset; pos < offset + length; ) {
      const lbn = Math.floor(pos / bsize)
      const inBlock = pos - lbn * bsize
      const n = Math.min(bsize - inBlock, offset + length - pos)
      const addr = this.blockAddress(inode, lbn)
      if (addr !== 0) this.readFrags(addr, inBlock, n).copy(out, pos - offset)
      pos += n
    }
    return out
  }

  readDirectory(inode: Dinode): DirEntry[] {
    check(inode.type === 'directory', 'not a directory')
    check(inode.size % DIRBLKSIZ === 0 && inode.size <= DEFAULT_MAX_SIZE, `bad directory size ${inode.size}`)
    // FS_42INODEFMT (1) directories have a 16-bit d_namlen and no d_type.
    return parseDirectory(this.readRange(inode, 0, inode.size), this.sb.inodeFormat < 2)
  }

  readLink(inode: Dinode): string {
    check(inode.type === 'symlink', 'not a symlink')
    const max = this.sb.maxsymlinklen
    // Short links live in the pointer area; FreeBSD also treats any link without blocks as short.
    if ((max > 0 && inode.size < max) || inode.blocks === 0) {
      check(inode.size <= inode.shortLink.length, `short symlink of size ${inode.size} is too long`)
      return inode.shortLink.toString('utf8', 0, inode.size)
    }
    check(inode.size <= 4096, `symlink of size ${inode.size} is too long`)
    return this.readRange(inode, 0, inode.size).toString('utf8')
  }

  /** Resolves an absolute path without following symlinks (pygrub does not follow them either). */
  lookup(path: string): UfsInode {
    const parts = path.split('/').filter((p) => p !== '')
    if (parts.length > MAX_PATH_COMPONENTS) throw new ImagePathError('ENOENT', path, `path too deep: ${path}`)
    let node = this.inode(ROOTINO)
    for (const [i, name] of parts.entries()) {
      if (node.type !== 'directory') {
        throw new ImagePathError('ENOTDIR', path, `/${parts.slice(0, i).join('/')} is not a directory`)
      }
      const entry = this.readDirectory(node).find((e) => e.name === name)
      if (entry === undefined) throw new ImagePathError('ENOENT', path, `no such file: /${parts.slice(0, i + 1).join('/')}`)
      node = this.inode(entry.ino)
    }
    return node
  }

  readFile(path: string, opts: UfsReadOptions = {}): UfsFile {
    const node = this.lookup(path)
    const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE
    if (node.size > maxSize) throw new ImageFormatError(`${path} is ${node.size} bytes, more than the ${maxSize} allowed`)
    const data = node.type === 'symlink' ? Buffer.from(this.readLink(node), 'utf8') : node.type === 'other' ? Buffer.alloc(0) : this.readRange(node, 0, node.size)
    return { ino: node.ino, type: node.type, mode: node.mode, size: node.size, nlink: node.nlink, data }
  }
}

export function openUfs(read: ReadAt, partitionSize: number): UfsVolume {
  return UfsVolume.open(read, partitionSize)
}
