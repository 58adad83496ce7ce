import { check } from './errors.js'
import { NDADDR, NIADDR } from './ufs-superblock.js'

export const IFMT = 0o170000
export const IFDIR = 0o040000
export const IFREG = 0o100000
export const IFLNK = 0o120000

export type UfsFileType = 'regular' | 'directory' | 'symlink' | 'other'

export interface Dinode {
  mode: number
  type: UfsFileType
  nlink: number
  size: number
  /** Low 32 bits of di_size: all that pygrub's ufs plugin reads. */
  sizeLo: number
  /** 512-byte sectors held, indirect blocks included. */
  blocks: number
  db: number[]
  ib: number[]
  flags: number
  uid: number
  gid: number
  gen: number
  mtime: number
  /** The block-pointer area, where short symlinks keep their target. */
  shortLink: Buffer
}

export function fileType(mode: number): UfsFileType {
  switch (mode & IFMT) {
    case IFREG:
      return 'regular'
    case IFDIR:
      return 'directory'
    case IFLNK:
      return 'symlink'
    default:
      return 'other'
  }
}

function safe(v: bigint, what: string): number {
  check(v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER), `inode ${what} ${v} is out of range`)
  return Number(v)
}

/** Decodes a UFS1 (128-byte) or UFS2 (256-byte) on-disk inode. */
export function parseDinode(raw: Buffer, version: 1 | 2): Dinode {
  check(raw.length >= (version === 1 ? 128 : 256), 'inode buffer too short')
  const mode = raw.readUInt16LE(0)
  // A short symlink keeps its target where the pointers are, so for links a bad
  // pointer becomes -1 (rejected if ever used) instead of failing the whole inode.
  const strict = (mode & IFMT) !== IFLNK
  const ptrs = (at: number, n: number): number[] => {
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const big = version === 1 ? BigInt(raw.readInt32LE(at + 4 * i)) : raw.readBigInt64LE(at + 8 * i)
      const ok = big >= 0n && big <= BigInt(Number.MAX_SAFE_INTEGER)
      if (strict) check(ok, `block pointer ${big} is out of range`)
      out.push(ok ? Number(big) : -1)
    }
    return out
  }
  if (version === 1) {
    const size = raw.readBigUInt64LE(8)
    return {
      mode,
      type: fileType(mode),
      nlink: raw.readInt16LE(2),
      size: safe(size, 'size'),
      sizeLo: Number(size & 0xffffffffn),
      blocks: raw.readUInt32LE(104),
      db: ptrs(40, NDADDR),
      ib: ptrs(88, NIADDR),
      flags: raw.readUInt32LE(100),
      gen: raw.readUInt32LE(108),
      uid: raw.readUInt32LE(112),
      gid: raw.readUInt32LE(116),
      mtime: raw.readInt32LE(24),
      shortLink: Buffer.from(raw.subarray(40, 100)),
    }
  }
  const size = raw.readBigUInt64LE(16)
  return {
    mode,
    type: fileType(mode),
    nlink: raw.readInt16LE(2),
    size: safe(size, 'size'),
    sizeLo: Number(size & 0xffffffffn),
    blocks: safe(raw.readBigUInt64LE(24), 'blocks'),
    db: ptrs(112, NDADDR),
    ib: ptrs(208, NIADDR),
    flags: raw.readUInt32LE(88),
    gen: raw.readUInt32LE(80),
    uid: raw.readUInt32LE(4),
    gid: raw.readUInt32LE(8),
    mtime: Number(raw.readBigInt64LE(40)),
    shortLink: Buffer.from(raw.subarray(112, 232)),
  }
}

export interface Ufs1DinodeInput {
  mode: number
  nlink: number
  size: number
  db: readonly number[]
  ib: readonly number[]
  /** 512-byte sectors held. */
  blocks: number
  time: number
  gen: number
  /** For short symlinks: the target, stored where the block pointers would be. */
  shortLink?: Buffer
}

/** Encodes a 128-byte UFS1 inode (uid/gid 0: root:wheel, as installworld leaves them). */
export function encodeUfs1Dinode(d: Ufs1DinodeInput): Buffer {
  const b = Buffer.alloc(128)
  b.writeUInt16LE(d.mode, 0)
  b.writeInt16LE(d.nlink, 2)
  b.writeBigUInt64LE(BigInt(d.size), 8)
  for (const at of [16, 24, 32]) b.writeInt32LE(d.time | 0, at) // atime, mtime, ctime
  if (d.shortLink !== undefined) {
    if (d.shortLink.length > 60) throw new RangeError('short symlink target longer than 60 bytes')
    d.shortLink.copy(b, 40)
  } else {
    d.db.forEach((v, i) => b.writeInt32LE(v, 40 + 4 * i))
    d.ib.forEach((v, i) => b.writeInt32LE(v, 88 + 4 * i))
  }
  b.writeUInt32LE(d.blocks, 104)
  b.writeUInt32LE(d.gen >>> 0, 108)
  return b
}

/** Encodes a 256-byte UFS2 inode: 64-bit times, sizes and block pointers; short links up to 120 bytes. */
export function encodeUfs2Dinode(d: Ufs1DinodeInput): Buffer {
  const b = Buffer.alloc(256)
  b.writeUInt16LE(d.mode, 0)
  b.writeInt16LE(d.nlink, 2)
  b.writeUInt32LE(4096, 12) // di_blksize, informational
  b.writeBigUInt64LE(BigInt(d.size), 16)
  b.writeBigUInt64LE(BigInt(d.blocks), 24)
  for (const at of [32, 40, 48, 56]) b.writeBigInt64LE(BigInt(d.time), at) // atime, mtime, ctime, birthtime
  b.writeUInt32LE(d.gen >>> 0, 80)
  if (d.shortLink !== undefined) {
    if (d.shortLink.length > 120) throw new RangeError('short symlink target longer than 120 bytes')
    d.shortLink.copy(b, 112)
  } else {
    d.db.forEach((v, i) => b.writeBigInt64LE(BigInt(v), 112 + 8 * i))
    d.ib.forEach((v, i) => b.writeBigInt64LE(BigInt(v), 208 + 8 * i))
  }
  return b
}
